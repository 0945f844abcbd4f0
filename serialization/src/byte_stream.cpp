#include <courier/serialization/byte_stream.hpp>

#include <cstring>

namespace courier {

std::streamsize ByteSink::xsputn(const char* data, std::streamsize n) {
    if (n <= 0) return 0;
    auto size = static_cast<std::size_t>(n);
    std::size_t old = out_.size();
    out_.resize(old + size);
    std::memcpy(out_.data() + old, data, size);
    return n;
}

ByteSink::int_type ByteSink::overflow(int_type c) {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    out_.push_back(static_cast<std::byte>(c));
    return c;
}

ByteSource::ByteSource(std::span<const std::byte> bytes) {
    // std::streambuf wants mutable pointers; ByteSource never writes through them.
    auto* begin = const_cast<char*>(reinterpret_cast<const char*>(bytes.data()));
    setg(begin, begin, begin + bytes.size());
}

}  // namespace courier
