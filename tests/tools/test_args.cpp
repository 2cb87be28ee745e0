#include <gtest/gtest.h>

#include <sstream>

#include "args.h"

using namespace ember::cli;

namespace {

ArgParser make_parser() {
  ArgParser p("ember demo", "FILE", "A demo command.");
  p.flag("--epochs", "N", "number of epochs");
  p.flag("--lr", "LR", "learning rate");
  p.switch_("--resume", "continue");
  return p;
}

bool parse(ArgParser& p, std::vector<const char*> argv, std::ostream& out) {
  return p.parse(int(argv.size()), argv.data(), out);
}

}  // namespace

TEST(ArgParser, ParsesFlagsSwitchesAndPositionals) {
  ArgParser p = make_parser();
  std::ostringstream out;
  ASSERT_TRUE(parse(p, {"data.json", "--epochs", "3", "--lr=0.5", "--resume"}, out));
  EXPECT_EQ(p.positional(), std::vector<std::string>{"data.json"});
  EXPECT_EQ(p.get_int("--epochs", 1), 3);
  EXPECT_EQ(p.get_double("--lr", 0), 0.5);
  EXPECT_TRUE(p.get_switch("--resume"));
  EXPECT_TRUE(out.str().empty());
}

TEST(ArgParser, AbsentFlagsAreEmpty) {
  ArgParser p = make_parser();
  std::ostringstream out;
  ASSERT_TRUE(parse(p, {}, out));
  EXPECT_FALSE(p.get_int("--epochs", 1).has_value());
  EXPECT_EQ(p.get("--lr", "0.1"), "0.1");
  EXPECT_FALSE(p.get_switch("--resume"));
}

TEST(ArgParser, HelpListsEveryFlag) {
  ArgParser p = make_parser();
  std::ostringstream out;
  EXPECT_FALSE(parse(p, {"--epochs", "2", "--help"}, out));
  for (const char* text :
       {"usage: ember demo [options] FILE", "A demo command.", "--epochs N", "number of epochs", "--resume", "--help"})
    EXPECT_NE(out.str().find(text), std::string::npos) << text;
}

TEST(ArgParser, BadCommandLinesAreUsageErrors) {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--bogus"}, "unknown option --bogus"},
      {{"--epochs"}, "--epochs needs a value"},
      {{"--resume=yes"}, "--resume takes no value"},
  };
  for (const auto& [argv, message] : cases) {
    ArgParser p = make_parser();
    std::ostringstream out;
    try {
      parse(p, argv, out);
      ADD_FAILURE() << "no error for " << argv[0];
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("ember demo: ", 0), 0u) << e.what();
    }
  }
}

TEST(ArgParser, BadValuesNameTheFlag) {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--epochs", "three"}, "--epochs: expected an integer, got 'three'"},
      {{"--epochs", "0"}, "--epochs must be at least 1, got 0"},
      {{"--epochs", "99999999999999999999"}, "expected an integer"},
      {{"--lr", "abc"}, "--lr: expected a number, got 'abc'"},
      {{"--lr", "-0.1"}, "--lr must be greater than 0"},
      {{"--lr", "nan"}, "expected a number"},
      {{"--lr", ""}, "expected a number"},
  };
  for (const auto& [argv, message] : cases) {
    ArgParser p = make_parser();
    std::ostringstream out;
    ASSERT_TRUE(parse(p, argv, out));
    try {
      p.get_int("--epochs", 1);
      p.get_double("--lr", 0);
      ADD_FAILURE() << "no error for " << argv[0] << " " << argv[1];
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

TEST(ArgParser, DoubleDashEndsOptions) {
  ArgParser p = make_parser();
  std::ostringstream out;
  ASSERT_TRUE(parse(p, {"--", "--resume"}, out));
  EXPECT_EQ(p.positional(), std::vector<std::string>{"--resume"});
  EXPECT_FALSE(p.get_switch("--resume"));
}
