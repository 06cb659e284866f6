#include "core/signals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace digits {

static std::atomic<int> g_stop_signal{0};

static void on_stop_signal(int sig) {
  int expected = 0;
  if (g_stop_signal.compare_exchange_strong(expected, sig)) return;
  // A second SIGINT/SIGTERM: the user wants out now. SIGUSR1 repeats are ignored.
  if (sig != SIGUSR1) _exit(128 + sig);
}

void install_stop_handlers() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

int stop_signal() { return g_stop_signal.load(); }
void clear_stop_signal() { g_stop_signal.store(0); }

}  // namespace digits
