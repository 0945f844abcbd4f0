#pragma once
/// @file
/// The Cereal archives of payloads on the wire, a matched pair.
///
/// PayloadOutputArchive writes exactly the bytes of cereal::PortableBinaryOutputArchive
/// in little-endian mode, straight into a byte vector (no std::ostream), and collects the
/// file descriptors of Fd fields. PayloadInputArchive reads the same bytes but does not
/// trust them: Cereal's own input archive resizes a string or vector to a length read
/// from the bytes before reading the elements, so a forged length of 2^40 makes it
/// allocate a terabyte. This archive checks every such length against the bytes that are
/// left, reads straight from a span, refuses a bool byte other than 0 or 1 (undefined
/// behaviour once loaded into a `bool`), and hands out the received descriptors by index,
/// each at most once. Failures throw cereal::Exception.
///
/// An Fd field is a u32 index into the frame's descriptor list, or 0xffffffff for an
/// empty Fd (docs/protocol.md). The descriptor table is a member of each archive, typed,
/// rather than cereal::UserDataAdapter: that adapter is behind CEREAL_FUTURE_EXPERIMENTAL,
/// finds its data by dynamic_cast, and an Fd written to any other archive would then fail
/// at run time; here it does not compile.

#include <courier/fd.hpp>
#include <courier/serialization/external_parts.hpp>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>
#include <cereal/types/memory.hpp>  // LoadAndConstructLoadWrapper

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace courier {

/// The index an empty Fd field is written as.
inline constexpr std::uint32_t no_fd_index = 0xffffffff;

/// What keeps a received payload's bytes where they are, for decoded values that view
/// them instead of copying them out (a large Bytes).
class PayloadKeeper {
  public:
    /// A reference that keeps the payload's bytes alive and in place until it goes.
    virtual std::shared_ptr<const void> keep() = 0;

  protected:
    ~PayloadKeeper() = default;
};

namespace detail {
/// Reverses the bytes of each `element_size`-byte element: byte order conversion.
void reverse_elements(void* data, std::size_t size, std::size_t element_size) noexcept;
}  // namespace detail

/// An archive can write many payloads, one after the other (restart), as long as Cereal
/// kept nothing from one to the next: Cereal remembers, for the rest of an archive's life,
/// the class versions it wrote, the shared pointers and polymorphic type names it
/// numbered, the virtual bases it wrote and the data deferred to later, and writes
/// references to them instead of writing them again, which a receiver decoding each
/// payload with a fresh archive could not follow. This archive notes when any of these is
/// used (reusable() turns false), and encode_payload then lets it go. Setting up and
/// tearing down Cereal's tables for each payload cost a 64 B message about 200
/// instructions, 15 % of a send.
class PayloadOutputArchive
    : public cereal::OutputArchive<PayloadOutputArchive, cereal::AllowEmptyClassElision> {
    using Base = cereal::OutputArchive<PayloadOutputArchive, cereal::AllowEmptyClassElision>;

  public:
    /// Appends to `out` (after the leading byte order byte, 1: little-endian) and to
    /// `fds` the descriptors of the Fd fields, borrowed: the value keeps owning them.
    PayloadOutputArchive(std::vector<std::byte>& out, std::vector<int>& fds);

    PayloadOutputArchive(const PayloadOutputArchive&) = delete;
    PayloadOutputArchive& operator=(const PayloadOutputArchive&) = delete;

    /// Starts another payload, as the constructor does; only while reusable().
    void restart(std::vector<std::byte>& out, std::vector<int>& fds);
    /// False once Cereal kept something that would change how it writes the next payload.
    bool reusable() const noexcept { return reusable_; }
    /// Notes that Cereal keeps something from this payload (see prologue below).
    void keeps_state() noexcept { reusable_ = false; }

    // Cereal's memory.hpp and polymorphic_impl.hpp call these on the archive they write
    // to: hiding the base's versions lets the archive note that it numbered something.
    std::uint32_t registerSharedPointer(const std::shared_ptr<const void>& pointer) {
        keeps_state();
        return Base::registerSharedPointer(pointer);
    }
    std::uint32_t registerPolymorphicType(const char* name) {
        keeps_state();
        return Base::registerPolymorphicType(name);
    }

    /// Appends `size` bytes, each `ElementSize`-byte element little-endian.
    template <std::size_t ElementSize>
    void saveBinary(const void* data, std::size_t size) {
        write_raw(data, size);
        if constexpr (ElementSize > 1) {
            if (std::endian::native != std::endian::little)
                detail::reverse_elements(out_->data() + out_->size() - size, size, ElementSize);
        }
    }

    /// Adds a descriptor to the frame's list; returns its index there.
    std::uint32_t add_fd(int fd);

    /// For the rest of this payload, large byte ranges (Bytes) go to `parts` instead of
    /// being copied into the buffer; null (what restart() sets): they are copied.
    void leave_out_to(ExternalParts* parts) noexcept { parts_ = parts; }
    ExternalParts* external_parts() const noexcept { return parts_; }
    /// Bytes in the buffer so far (where the next byte goes).
    std::size_t written() const noexcept { return out_->size(); }

  private:
    // Inline: most calls write one number, whose size the compiler then knows.
    void write_raw(const void* data, std::size_t size) {
        const auto* bytes = static_cast<const std::byte*>(data);
        out_->insert(out_->end(), bytes, bytes + size);
    }

    std::vector<std::byte>* out_;
    std::vector<int>* fds_;
    ExternalParts* parts_ = nullptr;
    bool reusable_ = true;
};

/// Like the output archive, an input archive can read many payloads, one after the other
/// (restart), as long as Cereal kept nothing from one to the next: Cereal remembers, for
/// the rest of an archive's life, the class versions it read (and does not read them
/// again: the next payload's version would be read as data), the shared pointers and
/// polymorphic type names by the ids it read (a later payload could name them and get an
/// earlier payload's object), the virtual bases it read (by address: a value decoded where
/// an earlier one was would skip its base) and the data deferred to later. reusable()
/// turns false when any of these is used, and decode_payload then lets the archive go.
/// Setting up and tearing down Cereal's tables cost a 64 B message about 190 instructions,
/// an eighth of its receipt.
class PayloadInputArchive
    : public cereal::InputArchive<PayloadInputArchive, cereal::AllowEmptyClassElision> {
    using Base = cereal::InputArchive<PayloadInputArchive, cereal::AllowEmptyClassElision>;

  public:
    /// Reads the archive's leading byte order byte (1: little-endian, 0: big-endian).
    /// `fds` are the descriptors that came with the frame; Fd fields take them by index.
    explicit PayloadInputArchive(std::span<const std::byte> bytes, std::span<Fd> fds = {});

    PayloadInputArchive(const PayloadInputArchive&) = delete;
    PayloadInputArchive& operator=(const PayloadInputArchive&) = delete;

    /// Starts reading another payload, as the constructor does; only while reusable().
    void restart(std::span<const std::byte> bytes, std::span<Fd> fds = {});
    /// False once Cereal kept something that would change how it reads the next payload.
    bool reusable() const noexcept { return reusable_; }
    /// Notes that Cereal keeps something from this payload (see prologue below).
    void keeps_state() noexcept { reusable_ = false; }

    // Cereal's memory.hpp and polymorphic.hpp call these on the archive they read from:
    // hiding the base's versions lets the archive note that it keeps an id.
    void registerSharedPointer(std::uint32_t id, std::shared_ptr<void> pointer) {
        keeps_state();
        Base::registerSharedPointer(id, std::move(pointer));
    }
    void registerPolymorphicName(std::uint32_t id, const std::string& name) {
        keeps_state();
        Base::registerPolymorphicName(id, name);
    }

    /// Bytes not read yet.
    std::size_t bytes_left() const noexcept { return bytes_.size() - position_; }

    /// Copies `size` bytes into `data`, reversing each `ElementSize`-byte element when the
    /// payload's byte order is not the host's. Throws if fewer than `size` bytes are left.
    template <std::size_t ElementSize>
    void loadBinary(void* data, std::size_t size) {
        read_raw(data, size);
        if constexpr (ElementSize > 1) {
            if (swap_bytes_) detail::reverse_elements(data, size, ElementSize);
        }
    }

    /// Refuses an element count larger than the bytes left: every element takes at least
    /// one byte on the wire, so a larger count is a lie, and believing it would allocate.
    void check_count(std::uint64_t count) const;

    /// Takes the descriptor at `index` of the frame's list. Throws for an index past the
    /// list or one already taken: one descriptor has one owner.
    Fd take_fd(std::uint32_t index);

    /// For the rest of this payload, large byte ranges (Bytes) view the payload, kept by
    /// `keeper`, instead of being copied out; null (what restart() sets): copied.
    void keep_with(PayloadKeeper* keeper) noexcept { keeper_ = keeper; }
    PayloadKeeper* keeper() const noexcept { return keeper_; }
    /// The next `size` bytes, skipped; throws if fewer are left.
    std::span<const std::byte> take_bytes(std::size_t size) {
        if (size > bytes_left()) ends_early(size);
        const auto taken = bytes_.subspan(position_, size);
        position_ += size;
        return taken;
    }

  private:
    // Inline: most calls read one number, whose size the compiler then knows.
    void read_raw(void* data, std::size_t size) {
        if (size > bytes_left()) ends_early(size);
        if (size != 0) std::memcpy(data, bytes_.data() + position_, size);
        position_ += size;
    }
    [[noreturn]] void ends_early(std::size_t size) const;
    [[noreturn]] static void bad_byte_order(std::uint8_t byte);

    std::span<const std::byte> bytes_;
    std::size_t position_ = 0;
    bool swap_bytes_ = false;
    std::span<Fd> fds_;
    PayloadKeeper* keeper_ = nullptr;
    bool reusable_ = true;
};

namespace detail {
template <class T>
inline constexpr bool is_virtual_base = false;
template <class T>
inline constexpr bool is_virtual_base<cereal::virtual_base_class<T>> = true;
template <class T>
inline constexpr bool is_deferred = false;
template <class T>
inline constexpr bool is_deferred<cereal::DeferredData<T>> = true;

/// True when Cereal writes T's class version (once per archive, which remembers it).
template <class T>
inline constexpr bool writes_version =
    cereal::traits::has_member_versioned_serialize<T, PayloadOutputArchive>::value ||
    cereal::traits::has_non_member_versioned_serialize<T, PayloadOutputArchive>::value ||
    cereal::traits::has_member_versioned_save<T, PayloadOutputArchive>::value ||
    cereal::traits::has_non_member_versioned_save<T, PayloadOutputArchive>::value ||
    cereal::traits::has_member_versioned_save_minimal<T, PayloadOutputArchive>::value ||
    cereal::traits::has_non_member_versioned_save_minimal<T, PayloadOutputArchive>::value;

/// True when Cereal reads T's class version (once per archive, which remembers it): for
/// T itself, or for the pointee a unique_ptr or shared_ptr builds with a versioned
/// load_and_construct, which Cereal reads without passing the pointee to the prologue.
template <class T>
inline constexpr bool reads_version =
    cereal::traits::has_member_versioned_serialize<T, PayloadInputArchive>::value ||
    cereal::traits::has_non_member_versioned_serialize<T, PayloadInputArchive>::value ||
    cereal::traits::has_member_versioned_load<T, PayloadInputArchive>::value ||
    cereal::traits::has_non_member_versioned_load<T, PayloadInputArchive>::value ||
    cereal::traits::has_member_versioned_load_minimal<T, PayloadInputArchive>::value ||
    cereal::traits::has_non_member_versioned_load_minimal<T, PayloadInputArchive>::value;
template <class A, class T>
inline constexpr bool reads_version<cereal::memory_detail::LoadAndConstructLoadWrapper<A, T>> =
    cereal::traits::has_member_versioned_load_and_construct<T, A>::value ||
    cereal::traits::has_non_member_versioned_load_and_construct<T, A>::value;

/// A thread's archive of one kind, and whether a payload has it now.
template <class Archive>
struct ThreadArchive {
    std::optional<Archive> archive;
    bool lent = false;
};

/// This thread's archive of each kind (payload_archive.cpp; the tests look at it).
template <class Archive>
ThreadArchive<Archive>& this_thread_archive() noexcept;

/// This thread's archive for encode_payload or decode_payload, lent for one payload: set
/// up once and restarted for each payload while it stays reusable, built afresh after one
/// that was not. A payload encoded or decoded while another is (from within a serialize
/// or load function) gets an archive of its own.
template <class Archive, class Bytes, class Fds>
class LentArchive {
  public:
    /// Starts a payload on `bytes` and `fds`, what the archive's constructor takes.
    /// Out of line: inlined, it made GCC stop inlining what encode_payload writes.
    LentArchive(Bytes bytes, Fds fds);
    /// Gives the archive back, or lets it go if it is not reusable() or the payload was
    /// not finished (an exception: Cereal may be half way through anything).
    ~LentArchive();
    LentArchive(const LentArchive&) = delete;
    LentArchive& operator=(const LentArchive&) = delete;

    Archive& operator*() noexcept { return *archive_; }
    Archive* operator->() noexcept { return archive_; }
    /// The payload is complete.
    void finished() noexcept { finished_ = true; }

  private:
    // The uncommon paths, out of line: with Cereal's set-up and teardown inlined, the
    // common ones saved and restored six registers.
    void set_up(Bytes bytes, Fds fds);
    void give_back() noexcept;
    struct Discard {
        void operator()(Archive* archive) const noexcept;
    };

    ThreadArchive<Archive>& slot_;
    Archive* archive_ = nullptr;
    bool lent_ = false;  ///< archive_ is the thread's
    bool finished_ = false;
    std::unique_ptr<Archive, Discard> own_;  ///< when the thread's is lent already
};

using LentOutputArchive =
    LentArchive<PayloadOutputArchive, std::vector<std::byte>&, std::vector<int>&>;
using LentInputArchive =
    LentArchive<PayloadInputArchive, std::span<const std::byte>, std::span<Fd>>;
}  // namespace detail

// Cereal finds these by argument-dependent lookup on the archive type.

/// Cereal calls this before writing each value: the values after which it keeps something
/// for the rest of the archive's life make the archive not reusable. Decided at compile
/// time; nothing for the others.
template <class T>
void prologue(PayloadOutputArchive& archive, const T&) {
    if constexpr (detail::writes_version<T> || detail::is_virtual_base<T> || detail::is_deferred<T>)
        archive.keeps_state();
}

/// The same before reading each value.
template <class T>
void prologue(PayloadInputArchive& archive, const T&) {
    if constexpr (detail::reads_version<T> || detail::is_virtual_base<T> || detail::is_deferred<T>)
        archive.keeps_state();
}

template <class T>
requires(std::is_arithmetic_v<T>) void CEREAL_SAVE_FUNCTION_NAME(PayloadOutputArchive& archive,
                                                                 const T& value) {
    static_assert(!std::is_floating_point_v<T> || std::numeric_limits<T>::is_iec559,
                  "portable binary only supports IEEE 754 floating point");
    archive.saveBinary<sizeof(T)>(std::addressof(value), sizeof(T));
}

template <class T>
requires(std::is_arithmetic_v<T> &&
         !std::is_same_v<T, bool>) void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive,
                                                                  T& value) {
    static_assert(!std::is_floating_point_v<T> || std::numeric_limits<T>::is_iec559,
                  "portable binary only supports IEEE 754 floating point");
    archive.loadBinary<sizeof(T)>(std::addressof(value), sizeof(T));
}

/// A bool is one byte, 0 or 1; anything else is refused rather than loaded.
void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, bool& value);

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(PayloadOutputArchive& archive,
                               const cereal::NameValuePair<T>& pair) {
    archive(pair.value);
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, cereal::NameValuePair<T>& pair) {
    archive(pair.value);
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(PayloadOutputArchive& archive, const cereal::SizeTag<T>& tag) {
    archive(tag.size);
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, cereal::SizeTag<T>& tag) {
    archive(tag.size);
    archive.check_count(static_cast<std::uint64_t>(tag.size));
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(PayloadOutputArchive& archive, const cereal::BinaryData<T>& data) {
    using Element = std::remove_cv_t<std::remove_pointer_t<T>>;
    static_assert(!std::is_floating_point_v<Element> || std::numeric_limits<Element>::is_iec559,
                  "portable binary only supports IEEE 754 floating point");
    archive.saveBinary<sizeof(Element)>(data.data, static_cast<std::size_t>(data.size));
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, cereal::BinaryData<T>& data) {
    using Element = std::remove_pointer_t<T>;
    static_assert(!std::is_floating_point_v<Element> || std::numeric_limits<Element>::is_iec559,
                  "portable binary only supports IEEE 754 floating point");
    archive.loadBinary<sizeof(Element)>(data.data, static_cast<std::size_t>(data.size));
}

/// An Fd field: its index in the frame's descriptor list (no_fd_index when empty). The
/// descriptor stays the value's until the frame is sent.
void CEREAL_SAVE_FUNCTION_NAME(PayloadOutputArchive& archive, const Fd& fd);
/// Takes the descriptor the index names; the decoded value owns it from then on.
void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, Fd& fd);

}  // namespace courier

CEREAL_REGISTER_ARCHIVE(courier::PayloadOutputArchive)
CEREAL_REGISTER_ARCHIVE(courier::PayloadInputArchive)
// Pairs the two, so Cereal can match load_minimal with save_minimal.
CEREAL_SETUP_ARCHIVE_TRAITS(courier::PayloadInputArchive, courier::PayloadOutputArchive)
