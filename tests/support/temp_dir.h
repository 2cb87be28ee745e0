#pragma once
// A scratch directory per test, named after the test and the process, made
// empty on construction and removed on destruction.
//
//   TempDir dir;  save_safetensors(dir / "w.safetensors", ...);
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace ember::testing {

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("ember_" + std::string(::testing::UnitTest::GetInstance()->current_test_suite()->name()) +
                                "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                                std::to_string(::getpid()));
  TempDir() {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // A string, so it concatenates into command lines and converts to a path.
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

}  // namespace ember::testing
