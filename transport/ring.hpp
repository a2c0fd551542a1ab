#pragma once
// Single-producer single-consumer ring of fixed-size descriptors in shared memory.
//
// head and tail are free-running 64-bit counters (never wrap in practice); the slot is
// counter & (slots-1). The producer owns head, the consumer owns tail; each publishes with a
// release store and reads the other's with an acquire load. The consumer copies a descriptor out
// of its slot before advancing tail, so the producer may reuse the slot at once.
//
// The peer's counter is untrusted: a consumer that sees head - tail > slots (a corrupt or
// malicious producer) gets ErrorCode::corrupt rather than reading garbage slots.
#include <atomic>
#include <cstdint>
#include <cstring>

#include "transport/error.hpp"
#include "transport/layout.hpp"

namespace ringserve::transport {

class RingProducer {
 public:
  RingProducer() = default;
  RingProducer(RingIndex* index, Descriptor* slots, std::uint32_t slotCount)
      : index_(index), slots_(slots), mask_(slotCount - 1),
        head_(std::atomic_ref(index->head).load(std::memory_order_relaxed)),
        cachedTail_(std::atomic_ref(index->tail).load(std::memory_order_acquire)) {}

  // Writes `d` into the next slot and publishes it. False when the ring is full.
  bool tryPush(const Descriptor& d) {
    if (head_ - cachedTail_ > mask_) {
      cachedTail_ = std::atomic_ref(index_->tail).load(std::memory_order_acquire);
      if (head_ - cachedTail_ > mask_) return false;
    }
    std::memcpy(&slots_[head_ & mask_], &d, sizeof(Descriptor));
    ++head_;
    std::atomic_ref(index_->head).store(head_, std::memory_order_release);
    return true;
  }

  // Descriptors the consumer has not taken yet (a consumer-side snapshot; may be stale).
  std::uint64_t pending() const {
    return head_ - std::atomic_ref(index_->tail).load(std::memory_order_acquire);
  }
  std::uint32_t capacity() const { return mask_ + 1; }

 private:
  RingIndex* index_ = nullptr;
  Descriptor* slots_ = nullptr;
  std::uint32_t mask_ = 0;
  std::uint64_t head_ = 0;        // private copy of what we last published
  std::uint64_t cachedTail_ = 0;  // last tail seen; refreshed only when the ring looks full
};

class RingConsumer {
 public:
  RingConsumer() = default;
  RingConsumer(RingIndex* index, Descriptor* slots, std::uint32_t slotCount)
      : index_(index), slots_(slots), mask_(slotCount - 1),
        tail_(std::atomic_ref(index->tail).load(std::memory_order_relaxed)),
        cachedHead_(tail_) {}

  // Copies the oldest descriptor into `out`. Ok(true) when one was taken, Ok(false) when empty,
  // an error when the producer's counter is impossible.
  Result<bool> tryPop(Descriptor& out) {
    if (cachedHead_ == tail_) {
      const std::uint64_t head = std::atomic_ref(index_->head).load(std::memory_order_acquire);
      if (head == tail_) return false;
      // Not cached when impossible, so every later call fails the same way instead of reading slots.
      if (head - tail_ > std::uint64_t{mask_} + 1)
        return makeError(ErrorCode::corrupt, "ring head " + std::to_string(head) + " is more than " +
                                                 std::to_string(mask_ + 1) + " slots ahead of tail " + std::to_string(tail_));
      cachedHead_ = head;
    }
    std::memcpy(&out, &slots_[tail_ & mask_], sizeof(Descriptor));
    ++tail_;
    std::atomic_ref(index_->tail).store(tail_, std::memory_order_release);
    return true;
  }

  // seq_cst (a plain load on x86): the sleep/wake protocol in endpoint.cpp orders it after a
  // seq_cst store to the "I may sleep" word.
  bool empty() const { return std::atomic_ref(index_->head).load(std::memory_order_seq_cst) == tail_; }

 private:
  RingIndex* index_ = nullptr;
  Descriptor* slots_ = nullptr;
  std::uint32_t mask_ = 0;
  std::uint64_t tail_ = 0;
  std::uint64_t cachedHead_ = 0;
};

}  // namespace ringserve::transport
