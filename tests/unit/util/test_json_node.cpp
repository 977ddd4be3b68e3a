#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "util/json_node.hpp"

using assetctl::util::json_path_child;
using assetctl::util::json_path_index;
using assetctl::util::JsonError;
using assetctl::util::JsonFailure;
using assetctl::util::JsonNode;
using nlohmann::ordered_json;

namespace {

// The failure a call raised through a context without a raise of its own.
template <typename Call>
JsonFailure failure_of(Call call) {
    try {
        call();
    } catch (const JsonError& e) {
        return e.failure();
    }
    FAIL("no JsonError");
    return {};
}

struct ModuleError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace

TEST_CASE("JSON paths name keys plainly or quoted, and indexes", "[json_node]") {
    CHECK(json_path_child("", "files") == "files");
    CHECK(json_path_child("files", "abc-1_2") == "files.abc-1_2");
    CHECK(json_path_child("files", "a.b") == "files[\"a.b\"]");
    CHECK(json_path_child("files", "q\"\\") == "files[\"q\\\"\\\\\"]");
    CHECK(json_path_index("layers", 3) == "layers[3]");
}

TEST_CASE("JsonNode walks objects and arrays keeping the path", "[json_node]") {
    const auto document = ordered_json::parse(R"({"a":{"list":["x",{"b":true}]}})");
    const JsonNode::Context context;
    const JsonNode root(document, "", context);
    const auto list = root.required("a").required("list").elements("a list");
    REQUIRE(list.size() == 2);
    CHECK(list[0].path() == "a.list[0]");
    CHECK(list[0].as_string() == "x");
    CHECK(list[1].required("b").path() == "a.list[1].b");
    CHECK(list[1].required("b").as_bool());
    CHECK_FALSE(root.optional("missing"));
    CHECK(root.has("a"));
}

TEST_CASE("JsonNode type errors name the path, what was expected and what was found",
          "[json_node]") {
    const auto document = ordered_json::parse(R"({"n":42,"s":"","o":{}})");
    const JsonNode::Context context;
    const JsonNode root(document, "", context);
    const auto wrong_type = failure_of([&] { (void)root.required("n").as_string(); });
    CHECK(wrong_type.path == "n");
    CHECK(wrong_type.detail == "expected a string, found a number (42)");
    CHECK(failure_of([&] { (void)root.required("s").as_non_empty_string(); }).detail ==
          "expected a non-empty string, found \"\"");
    const auto missing = failure_of([&] { (void)root.required("o").required("k"); });
    CHECK(missing.path == "o.k");
    CHECK(missing.detail == "required key is missing");
    CHECK(failure_of([&] { (void)root.required("o").elements("an array of layers"); }).detail ==
          "expected an array of layers, found an object");
}

TEST_CASE("JsonError's message is the path and the detail", "[json_node]") {
    CHECK(std::string(JsonError({"a.b", "is wrong", "fix it"}).what()) == "a.b: is wrong");
    CHECK(std::string(JsonError({"", "is wrong", ""}).what()) == "is wrong");
}

TEST_CASE("JsonNode raises failures through the context's error", "[json_node]") {
    const auto document = ordered_json::parse(R"({"a":1})");
    JsonNode::Context context;
    context.raise = [](const JsonFailure& failure) {
        throw ModuleError("doc.json: " + failure.path + ": " + failure.detail + " / " +
                          failure.hint);
    };
    const JsonNode root(document, "", context);
    CHECK_THROWS_MATCHES(root.required("a").fail("is odd", "make it even"), ModuleError,
                         Catch::Message("doc.json: a: is odd / make it even"));
    CHECK_THROWS_MATCHES(root.fail_member("Config", "is missing or not a string"), ModuleError,
                         Catch::Message("doc.json: Config: is missing or not a string / "));
}

TEST_CASE("JsonNode records unknown keys with their path", "[json_node]") {
    const auto document = ordered_json::parse(R"({"inner":{"known":1,"extra":2,"x.y":3}})");
    std::vector<std::string> unknown;
    JsonNode::Context context;
    context.unknown_keys = &unknown;
    const JsonNode root(document, "", context);
    root.required("inner").expect_object({"known"});
    CHECK(unknown == std::vector<std::string>{"inner.extra", "inner[\"x.y\"]"});
}

TEST_CASE("JsonNode's non-failing accessors", "[json_node]") {
    const auto document =
        ordered_json::parse(R"({"s":"text","u":7,"neg":-1,"f":1.5,"m":{"k":"v"},"arr":[1]})");
    const JsonNode::Context context;
    const JsonNode root(document, "", context);
    CHECK(root.required("s").string_value() == "text");
    CHECK_FALSE(root.required("u").string_value());
    CHECK(root.required("u").unsigned_value() == 7u);
    CHECK_FALSE(root.required("neg").unsigned_value());
    CHECK_FALSE(root.required("f").unsigned_value());
    CHECK(root.find("s"));
    CHECK_FALSE(root.find("none"));
    CHECK_FALSE(root.required("arr").find("s"));  // not an object: no failure
    CHECK(root.required("m").as_string_map() ==
          std::vector<std::pair<std::string, std::string>>{{"k", "v"}});
    CHECK(root.optional_string("s") == "text");
}
