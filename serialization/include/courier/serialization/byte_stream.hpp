#pragma once
/// @file
/// std::streambuf adapters so Cereal reads from a span and writes into a byte vector
/// without an intermediate std::string copy.

#include <cstddef>
#include <span>
#include <streambuf>
#include <vector>

namespace courier {

/// Appends everything written to it to a byte vector.
class ByteSink : public std::streambuf {
  public:
    explicit ByteSink(std::vector<std::byte>& out) : out_(out) {}

  protected:
    std::streamsize xsputn(const char* data, std::streamsize n) override;
    int_type overflow(int_type c) override;

  private:
    std::vector<std::byte>& out_;
};

/// Reads from a span of bytes; reading past the end fails instead of overrunning.
class ByteSource : public std::streambuf {
  public:
    explicit ByteSource(std::span<const std::byte> bytes);
    bool at_end() const { return gptr() == egptr(); }
};

}  // namespace courier
