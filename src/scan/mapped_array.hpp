#pragma once
// A growable array of trivially copyable records in its own anonymous mapping: growing it
// is mremap (the kernel moves page tables, nothing is copied) and shrinking it gives pages
// back at once. std::vector's growth copies into a new block while the old one is still
// held, which for the scan's file list (80 bytes x millions of files) doubled the peak.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <new>
#include <stdexcept>
#include <sys/mman.h>
#include <type_traits>
#include <unistd.h>
#include <utility>

namespace wsd::scan {

template <typename T>
class MappedArray {
  static_assert(std::is_trivially_copyable_v<T>, "records are moved by mremap");

public:
  MappedArray() = default;
  MappedArray(std::initializer_list<T> items) {
    for (const T& t : items) push_back(t);
  }
  MappedArray(const MappedArray& other) { *this = other; }
  MappedArray& operator=(const MappedArray& other) {
    if (this != &other) {
      clear();
      reserve(other.m_size);
      if (other.m_size) std::memcpy(static_cast<void*>(m_data), other.m_data, other.m_size * sizeof(T));
      m_size = other.m_size;
    }
    return *this;
  }
  MappedArray(MappedArray&& other) noexcept { swap(other); }
  MappedArray& operator=(MappedArray&& other) noexcept {
    MappedArray tmp(std::move(other));
    swap(tmp);
    return *this;
  }
  ~MappedArray() { release(); }

  void swap(MappedArray& other) noexcept {
    std::swap(m_data, other.m_data);
    std::swap(m_size, other.m_size);
    std::swap(m_bytes, other.m_bytes);
  }

  size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  T* data() { return m_data; }
  const T* data() const { return m_data; }
  T* begin() { return m_data; }
  T* end() { return m_data + m_size; }
  const T* begin() const { return m_data; }
  const T* end() const { return m_data + m_size; }
  T& operator[](size_t i) { return m_data[i]; }
  const T& operator[](size_t i) const { return m_data[i]; }
  T& back() { return m_data[m_size - 1]; }
  const T& at(size_t i) const {
    if (i >= m_size) throw std::out_of_range("MappedArray::at");
    return m_data[i];
  }
  T& at(size_t i) {
    if (i >= m_size) throw std::out_of_range("MappedArray::at");
    return m_data[i];
  }

  void push_back(const T& t) {
    if ((m_size + 1) * sizeof(T) > m_bytes) grow_to((m_size + 1) * sizeof(T) * 2);
    new (m_data + m_size) T(t);
    ++m_size;
  }

  /// Makes room for `n` records without moving any.
  void reserve(size_t n) {
    if (n * sizeof(T) > m_bytes) grow_to(n * sizeof(T));
  }

  /// Drops records past `n` and returns their whole pages to the kernel.
  void truncate(size_t n) {
    if (n >= m_size) return;
    m_size = n;
    const size_t keep = round_up(std::max<size_t>(n * sizeof(T), 1));
    if (keep < m_bytes) {
      void* p = ::mremap(m_data, m_bytes, keep, 0);
      if (p != MAP_FAILED) m_bytes = keep;
    }
  }

  void clear() { release(); }

private:
  static size_t round_up(size_t bytes) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    return (bytes + page - 1) / page * page;
  }

  void grow_to(size_t bytes) {
    bytes = round_up(std::max<size_t>(bytes, 64 * 1024));
    void* p = m_data ? ::mremap(m_data, m_bytes, bytes, MREMAP_MAYMOVE)
                     : ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    m_data = static_cast<T*>(p);
    m_bytes = bytes;
  }

  void release() {
    if (m_data) ::munmap(m_data, m_bytes);
    m_data = nullptr;
    m_size = 0;
    m_bytes = 0;
  }

  T* m_data = nullptr;
  size_t m_size = 0;
  size_t m_bytes = 0;
};

} // namespace wsd::scan
