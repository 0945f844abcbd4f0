#include <courier/serialization/payload_archive.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

namespace courier {

// ---- Output ----------------------------------------------------------------------------

PayloadOutputArchive::PayloadOutputArchive(std::vector<std::byte>& out, std::vector<int>& fds)
    : Base(this) {
    restart(out, fds);
}

void PayloadOutputArchive::restart(std::vector<std::byte>& out, std::vector<int>& fds) {
    out_ = &out;
    fds_ = &fds;
    parts_ = nullptr;
    const std::uint8_t little_endian = 1;
    write_raw(&little_endian, 1);
}

std::uint32_t PayloadOutputArchive::add_fd(int fd) {
    if (fds_->size() >= no_fd_index)
        throw cereal::Exception("a payload cannot carry more than 2^32 - 1 descriptors");
    fds_->push_back(fd);
    return static_cast<std::uint32_t>(fds_->size() - 1);
}

void CEREAL_SAVE_FUNCTION_NAME(PayloadOutputArchive& archive, const Fd& fd) {
    archive(fd ? archive.add_fd(fd.get()) : no_fd_index);
}

// ---- Input -----------------------------------------------------------------------------

PayloadInputArchive::PayloadInputArchive(std::span<const std::byte> bytes, std::span<Fd> fds)
    : Base(this) {
    restart(bytes, fds);
}

void PayloadInputArchive::restart(std::span<const std::byte> bytes, std::span<Fd> fds) {
    bytes_ = bytes;
    position_ = 0;
    fds_ = fds;
    keeper_ = nullptr;
    std::uint8_t little_endian = 0;
    read_raw(&little_endian, 1);
    if (little_endian > 1) bad_byte_order(little_endian);
    swap_bytes_ = (little_endian == 1) != (std::endian::native == std::endian::little);
}

// Out of line, so that restart, inlined where the archive is lent, saves no registers.
[[gnu::noinline, noreturn]] void PayloadInputArchive::bad_byte_order(std::uint8_t byte) {
    throw cereal::Exception("payload byte order byte is " + std::to_string(byte) + ", not 0 or 1");
}

void PayloadInputArchive::check_count(std::uint64_t count) const {
    if (count > bytes_left())
        throw cereal::Exception("payload announces " + std::to_string(count) +
                                " elements but only " + std::to_string(bytes_left()) +
                                " bytes are left");
}

Fd PayloadInputArchive::take_fd(std::uint32_t index) {
    if (index >= fds_.size())
        throw cereal::Exception("payload names descriptor " + std::to_string(index) +
                                " but the frame carries " + std::to_string(fds_.size()));
    if (!fds_[index])
        throw cereal::Exception("payload names descriptor " + std::to_string(index) +
                                " twice (or it did not arrive)");
    return std::move(fds_[index]);
}

void PayloadInputArchive::ends_early(std::size_t size) const {
    throw cereal::Exception("payload ends early: " + std::to_string(size) + " bytes wanted, " +
                            std::to_string(bytes_left()) + " left");
}

// ---- This thread's archives ------------------------------------------------------------

template <class Archive>
detail::ThreadArchive<Archive>& detail::this_thread_archive() noexcept {
    thread_local ThreadArchive<Archive> slot;
    return slot;
}

template <class Archive, class Bytes, class Fds>
detail::LentArchive<Archive, Bytes, Fds>::LentArchive(Bytes bytes, Fds fds)
    : slot_(this_thread_archive<Archive>()) {
    if (slot_.lent || !slot_.archive) {
        set_up(bytes, fds);
        return;
    }
    slot_.archive->restart(bytes, fds);
    slot_.lent = lent_ = true;  // only now: a constructor that throws has no destructor
    archive_ = &*slot_.archive;
}

// Inside the namespace: a destructor named as detail::LentArchive<...>::~LentArchive is
// not found in the scope ISO C++ asks (clang's -Wdtor-name).
namespace detail {
template <class Archive, class Bytes, class Fds>
LentArchive<Archive, Bytes, Fds>::~LentArchive() {
    if (lent_ && finished_ && archive_->reusable())
        slot_.lent = false;
    else
        give_back();
}
}  // namespace detail

template <class Archive, class Bytes, class Fds>
[[gnu::noinline]] void detail::LentArchive<Archive, Bytes, Fds>::set_up(Bytes bytes, Fds fds) {
    if (slot_.lent) {
        own_.reset(new Archive(bytes, fds));
        archive_ = own_.get();
        return;
    }
    slot_.archive.emplace(bytes, fds);
    slot_.lent = lent_ = true;
    archive_ = &*slot_.archive;
}

template <class Archive, class Bytes, class Fds>
[[gnu::noinline]] void detail::LentArchive<Archive, Bytes, Fds>::give_back() noexcept {
    if (!lent_) return;  // its own: own_ deletes it
    slot_.archive.reset();
    slot_.lent = false;
}

template <class Archive, class Bytes, class Fds>
void detail::LentArchive<Archive, Bytes, Fds>::Discard::operator()(
    Archive* archive) const noexcept {
    delete archive;
}

template detail::ThreadArchive<PayloadOutputArchive>& detail::this_thread_archive() noexcept;
template detail::ThreadArchive<PayloadInputArchive>& detail::this_thread_archive() noexcept;
template class detail::LentArchive<PayloadOutputArchive, std::vector<std::byte>&,
                                   std::vector<int>&>;
template class detail::LentArchive<PayloadInputArchive, std::span<const std::byte>, std::span<Fd>>;

// ---- Byte order ------------------------------------------------------------------------

void detail::reverse_elements(void* data, std::size_t size, std::size_t element_size) noexcept {
    auto* bytes = static_cast<unsigned char*>(data);
    for (std::size_t i = 0; i + element_size <= size; i += element_size)
        std::reverse(bytes + i, bytes + i + element_size);
}

void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, bool& value) {
    std::uint8_t byte = 0;
    archive.loadBinary<1>(&byte, 1);
    if (byte > 1) throw cereal::Exception("bool byte is " + std::to_string(byte) + ", not 0 or 1");
    value = byte == 1;
}

void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, Fd& fd) {
    std::uint32_t index = 0;
    archive(index);
    fd = index == no_fd_index ? Fd() : archive.take_fd(index);
}

}  // namespace courier
