#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace assetctl::util {

// One Entry per key, made on first use. The map's lock is held only to find the entry, so slow
// work done under an entry's own mutex (an AssumeRole, a login) blocks callers of the same key
// and nobody else: "once per key" for concurrent callers.
template <typename Entry>
class PerKey {
  public:
    std::shared_ptr<Entry> get(const std::string& key) {
        std::lock_guard lock(mutex_);
        auto& slot = entries_[key];
        if (!slot) {
            slot = std::make_shared<Entry>();
        }
        return slot;
    }

  private:
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace assetctl::util
