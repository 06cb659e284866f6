// Stop requests from signals. Handlers only record the signal; the training loop polls
// stop_signal() and acts (finish the iteration, snapshot, exit with the documented status).
// A second SIGINT/SIGTERM exits at once (128 + signal), for a user who means it.
#pragma once

namespace digits {

// Installs handlers for SIGINT, SIGTERM and SIGUSR1 (Slurm's pre-preemption warning).
void install_stop_handlers();
// 0 when no stop was requested, else the first signal received (SIGINT, SIGTERM or SIGUSR1).
int stop_signal();
// For tests: forget a recorded signal.
void clear_stop_signal();

}  // namespace digits
