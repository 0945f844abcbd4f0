#pragma once
/// @file
/// The letters of a mailbox, in arrival order, in chunks: a backlog grows by adding a
/// chunk, never by moving the letters it holds. (A vector grown by doubling moves every
/// letter about once more, 112 bytes and two name copies each, and allocates, faults in
/// and frees ever larger blocks: under a burst that was a third of a send.)

#include <courier/framework/letter.hpp>

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace courier::detail {

/// Not thread-safe: an actor's cell keeps one for its senders (under its lock) and one
/// that its worker reads, and swaps them. Emptied chunks stay in the queue with their
/// storage, so after a swap the senders fill the chunks the worker used up.
class LetterQueue {
  public:
    void push(Letter&& letter) {
        if (used_ == 0 || chunks_[used_ - 1].size() == chunks_[used_ - 1].capacity()) add_chunk();
        chunks_[used_ - 1].push_back(std::move(letter));
    }
    bool empty() const noexcept { return used_ == 0; }
    void swap(LetterQueue& other) noexcept {
        chunks_.swap(other.chunks_);
        std::swap(used_, other.used_);
        std::swap(chunk_, other.chunk_);
        std::swap(next_, other.next_);
    }

    /// The first letter not taken yet, or null; the reader's side.
    Letter* take() noexcept {
        if (used_ == 0) return nullptr;
        if (next_ == chunks_[chunk_].size()) {        // used chunks are never empty
            if (chunk_ + 1 == used_) return nullptr;  // stays on the last: it may grow
            ++chunk_;
            next_ = 0;
        }
        return &chunks_[chunk_][next_++];
    }
    /// Letters not taken yet remain.
    bool remaining() const noexcept {
        return used_ != 0 && (next_ < chunks_[chunk_].size() || chunk_ + 1 < used_);
    }

    /// Destroys every letter; the chunks stay, for the next letters.
    void clear() noexcept {
        for (std::size_t i = 0; i < used_; ++i) chunks_[i].clear();
        used_ = chunk_ = next_ = 0;
    }
    /// Clears, and frees all but a few chunks (the memory of a burst, once it is over).
    void shrink() noexcept {
        clear();
        if (chunks_.size() > kept_chunks)  // the last are the largest
            chunks_.erase(chunks_.begin(), chunks_.end() - kept_chunks);
    }

  private:
    /// Chunks start small (most mailboxes hold a letter or two) and double up to this.
    static constexpr std::size_t max_chunk_letters = 256;
    static constexpr std::size_t kept_chunks = 2;

    void add_chunk() {
        if (used_ == chunks_.size()) {
            std::size_t size = used_ == 0 ? 4 : chunks_[used_ - 1].capacity() * 2;
            chunks_.emplace_back().reserve(std::min(size, max_chunk_letters));
        }
        ++used_;
    }

    std::vector<std::vector<Letter>> chunks_;  ///< [0, used_) hold letters, the rest are spare
    std::size_t used_ = 0;
    std::size_t chunk_ = 0, next_ = 0;  ///< the reader's position
};

}  // namespace courier::detail
