#pragma once
// Human-readable numbers for the CLI's output.
#include <cstdint>
#include <string>

namespace ember::cli {

std::string format_duration(double seconds);  // "1:05", "1:02:03"
std::string format_count(int64_t n);          // "1,234,567"
std::string format_bytes(uint64_t n);         // "1.6 MiB"

}  // namespace ember::cli
