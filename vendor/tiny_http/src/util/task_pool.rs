use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

// xivo-confd patch: the upstream pool counted idle threads in an atomic that
// was only decremented after a woken thread re-took the lock, so a burst of
// connections could be queued behind a single idle thread and wait until some
// other connection closed. Here the idle count and the queue live under one
// mutex, and a task is queued only when an idle thread is known to be free
// for it; otherwise a new thread is started for it.

/// Manages a collection of threads.
///
/// A new thread is created every time all the existing threads are busy.
/// Any idle thread above the minimum dies after a few seconds.
pub struct TaskPool {
    sharing: Arc<Sharing>,
}

struct State {
    todo: VecDeque<Box<dyn FnMut() + Send>>,
    /// threads alive, busy or idle
    threads: usize,
    /// threads blocked in `wait`, not yet promised a task
    idle: usize,
    closing: bool,
}

struct Sharing {
    state: Mutex<State>,
    condvar: Condvar,
}

/// Minimum number of threads kept alive.
const MIN_THREADS: usize = 4;
const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

impl TaskPool {
    pub fn new() -> TaskPool {
        let pool = TaskPool {
            sharing: Arc::new(Sharing {
                state: Mutex::new(State {
                    todo: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    closing: false,
                }),
                condvar: Condvar::new(),
            }),
        };
        for _ in 0..MIN_THREADS {
            pool.add_thread(None)
        }
        pool
    }

    /// Executes a function in a thread: an idle one if there is one that is
    /// not already promised a queued task, else a new one.
    pub fn spawn(&self, code: Box<dyn FnMut() + Send>) {
        let mut state = self.sharing.state.lock().unwrap();
        if state.idle > 0 {
            // promise this task to one idle thread right now, under the lock
            state.idle -= 1;
            state.todo.push_back(code);
            drop(state);
            self.sharing.condvar.notify_one();
        } else {
            drop(state);
            self.add_thread(Some(code));
        }
    }

    fn add_thread(&self, initial_fn: Option<Box<dyn FnMut() + Send>>) {
        let sharing = self.sharing.clone();
        sharing.state.lock().unwrap().threads += 1;

        thread::spawn(move || {
            if let Some(mut f) = initial_fn {
                f();
            }
            loop {
                let mut task = {
                    let mut state = sharing.state.lock().unwrap();
                    state.idle += 1;
                    loop {
                        if let Some(task) = state.todo.pop_front() {
                            // `spawn` already took this thread out of `idle`
                            break task;
                        }
                        if state.closing {
                            state.idle -= 1;
                            state.threads -= 1;
                            return;
                        }
                        if state.threads <= MIN_THREADS {
                            state = sharing.condvar.wait(state).unwrap();
                        } else {
                            let (new_state, timeout) =
                                sharing.condvar.wait_timeout(state, IDLE_TIMEOUT).unwrap();
                            state = new_state;
                            if timeout.timed_out() && state.todo.is_empty() {
                                state.idle -= 1;
                                state.threads -= 1;
                                return;
                            }
                        }
                    }
                };
                task();
            }
        });
    }
}

impl Drop for TaskPool {
    fn drop(&mut self) {
        self.sharing.state.lock().unwrap().closing = true;
        self.sharing.condvar.notify_all();
    }
}
