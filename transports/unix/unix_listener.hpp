#pragma once
/// @file
/// The listening side of unix:. Private to courier_transports.

#include "src/unix_socket_address.hpp"

#include <courier/fd.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include <sys/types.h>

#include <memory>
#include <string>

namespace courier::detail {

/// The socket file a listener created; removed on destruction if it is still the same
/// file (a successor that replaced it keeps its own).
class OwnedSocketFile {
  public:
    OwnedSocketFile() = default;
    /// Records the identity of the file just bound at `path`.
    explicit OwnedSocketFile(std::string path);
    OwnedSocketFile(OwnedSocketFile&& other) noexcept;
    OwnedSocketFile& operator=(OwnedSocketFile&&) = delete;
    ~OwnedSocketFile();

  private:
    std::string path_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
};

class UnixListener final : public Listener {
  public:
    static std::unique_ptr<Listener> bind(const Endpoint& endpoint,
                                          const TransportOptions& options);

    const Endpoint& endpoint() const noexcept override { return endpoint_; }
    int poll_fd() const noexcept override { return socket_.get(); }
    std::unique_ptr<Link> accept() override;

    UnixListener(Endpoint endpoint, const TransportOptions& options, Fd socket,
                 OwnedSocketFile file);

  private:
    Endpoint endpoint_;
    TransportOptions options_;
    // Destroyed in reverse order: the socket closes first, then its file is removed.
    OwnedSocketFile file_;
    Fd socket_;
};

}  // namespace courier::detail
