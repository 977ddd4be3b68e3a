#pragma once

// Compatibility name for publish/test_publisher.cpp until it includes
// "support/fake_credentials.hpp" and says FakeCredentialsProvider; then delete this file.
#include "support/fake_credentials.hpp"

namespace assetctl::test {

using StaticCredentials = FakeCredentialsProvider;

}  // namespace assetctl::test
