#include <courier/serialization/external_parts.hpp>

namespace courier {

void ExternalParts::lay_out(std::span<const std::byte> buffer,
                            std::vector<std::span<const std::byte>>& out) const {
    out.clear();
    std::size_t from = 0;
    for (const auto& range : ranges_) {
        if (range.at > from) out.push_back(buffer.subspan(from, range.at - from));
        if (!range.bytes.empty()) out.push_back(range.bytes);
        from = range.at;
    }
    if (buffer.size() > from) out.push_back(buffer.subspan(from));
}

void ExternalParts::join(std::span<const std::byte> buffer, std::vector<std::byte>& out) const {
    out.reserve(out.size() + buffer.size() + size_);
    std::size_t from = 0;
    for (const auto& range : ranges_) {
        out.insert(out.end(), buffer.begin() + static_cast<std::ptrdiff_t>(from),
                   buffer.begin() + static_cast<std::ptrdiff_t>(range.at));
        out.insert(out.end(), range.bytes.begin(), range.bytes.end());
        from = range.at;
    }
    out.insert(out.end(), buffer.begin() + static_cast<std::ptrdiff_t>(from), buffer.end());
}

}  // namespace courier
