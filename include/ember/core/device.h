#pragma once
#include <cstdint>
#include <iosfwd>

namespace ember {

enum class DeviceType : uint8_t { cpu, cuda };

// Where a tensor's storage lives. CUDA is reserved for the CUDA backend
// (EMBER_CUDA=ON); every op in the table has a CPU kernel.
struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  bool operator==(const Device&) const = default;
  bool is_cpu() const { return type == DeviceType::cpu; }
};
inline constexpr Device kCPU{};

std::ostream& operator<<(std::ostream& os, Device d);

}  // namespace ember
