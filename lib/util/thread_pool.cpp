#include "util/thread_pool.hpp"

#include <algorithm>

namespace assetctl::util {

ThreadPool::ThreadPool(std::size_t workers) {
    for (std::size_t i = 0; i < std::max<std::size_t>(1, workers); ++i) {
        threads_.emplace_back([this] { work(); });
    }
}

ThreadPool::~ThreadPool() {
    wait();
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    task_ready_.notify_all();
    for (auto& thread : threads_) {
        thread.join();
    }
}

void ThreadPool::submit(std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
    }
    task_ready_.notify_one();
}

void ThreadPool::wait() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return tasks_.empty() && running_ == 0; });
}

void ThreadPool::work() {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock lock(mutex_);
            task_ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
            if (tasks_.empty()) {
                return;  // stopping
            }
            task = std::move(tasks_.front());
            tasks_.pop_front();
            ++running_;
        }
        task();
        {
            std::lock_guard lock(mutex_);
            --running_;
            if (tasks_.empty() && running_ == 0) {
                idle_.notify_all();
            }
        }
    }
}

}  // namespace assetctl::util
