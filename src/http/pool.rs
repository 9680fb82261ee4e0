//! A pool of threads for socket work that may block: reading a large request
//! body and writing responses. The single worker thread only computes; any
//! wait on a slow or hostile client happens here, so it never holds the loop.
//!
//! Idle threads and queued jobs are counted under one lock: a job is queued
//! for an idle thread only when one is known to be free for it, otherwise a
//! thread is started (up to `max_threads`, then jobs wait in the queue).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct IoPool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    idle_timeout: Duration,
    min_threads: usize,
    max_threads: usize,
}

struct State {
    queue: VecDeque<Job>,
    threads: usize,
    /// waiting threads not yet promised a queued job
    idle: usize,
    /// queued jobs that no thread was promised (the pool was at its bound)
    backlog: usize,
    closing: bool,
}

impl IoPool {
    pub fn new(min_threads: usize, max_threads: usize) -> IoPool {
        IoPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    backlog: 0,
                    closing: false,
                }),
                wake: Condvar::new(),
                idle_timeout: Duration::from_secs(10),
                min_threads,
                max_threads: max_threads.max(1),
            }),
        }
    }

    pub fn execute(&self, job: impl FnOnce() + Send + 'static) {
        let job: Job = Box::new(job);
        let mut state = lock(&self.shared.state);
        if state.idle > 0 {
            // promise the job to one waiting thread, under the lock
            state.idle -= 1;
            state.queue.push_back(job);
            drop(state);
            self.shared.wake.notify_one();
        } else if state.threads < self.shared.max_threads {
            state.threads += 1;
            drop(state);
            let shared = self.shared.clone();
            let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Job>(1);
            let spawned = thread::Builder::new().name("io".into()).spawn(move || {
                if let Ok(first) = job_rx.recv() {
                    run_job(first);
                }
                run(shared)
            });
            match spawned {
                Ok(_) => {
                    job_tx.send(job).ok();
                }
                Err(error) => {
                    log::error!("cannot start an I/O thread: {error}");
                    let mut state = lock(&self.shared.state);
                    state.threads -= 1;
                    state.backlog += 1;
                    state.queue.push_back(job);
                }
            }
        } else {
            // every thread is busy and the pool is at its bound: the next
            // thread to finish takes it
            state.backlog += 1;
            state.queue.push_back(job);
        }
    }

    /// Lets every thread finish the queued jobs, then stop.
    pub fn shutdown(&self, wait: Duration) {
        lock(&self.shared.state).closing = true;
        self.shared.wake.notify_all();
        let deadline = std::time::Instant::now() + wait;
        while std::time::Instant::now() < deadline {
            let state = lock(&self.shared.state);
            if state.threads == 0 {
                return;
            }
            drop(state);
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[cfg(test)]
    fn threads(&self) -> usize {
        lock(&self.shared.state).threads
    }

    #[cfg(test)]
    fn wait_until_idle(&self, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            let state = lock(&self.shared.state);
            if state.idle == state.threads {
                return;
            }
            drop(state);
            thread::sleep(Duration::from_millis(1));
        }
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // a panicking job never holds this lock, so poisoning carries no broken state
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run(shared: Arc<Shared>) {
    loop {
        let job = {
            let mut state = lock(&shared.state);
            if state.backlog > 0
                && let Some(job) = state.queue.pop_front()
            {
                state.backlog -= 1;
                drop(state);
                run_job(job);
                continue;
            }
            // `idle` counts waiting threads minus the jobs promised to them:
            // `execute` takes one off when it queues a job, whoever runs it
            state.idle += 1;
            loop {
                if let Some(job) = state.queue.pop_front() {
                    break job;
                }
                if state.closing {
                    state.idle -= 1;
                    state.threads -= 1;
                    return;
                }
                let (next, timeout) = shared
                    .wake
                    .wait_timeout(state, shared.idle_timeout)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                state = next;
                if timeout.timed_out()
                    && state.queue.is_empty()
                    && state.threads > shared.min_threads
                {
                    state.idle -= 1;
                    state.threads -= 1;
                    return;
                }
            }
        };
        run_job(job);
    }
}

fn run_job(job: Job) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
        log::error!("an I/O job panicked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_burst_of_blocking_jobs_all_start_at_once() {
        let pool = IoPool::new(2, 256);
        let (started_tx, started_rx) = mpsc::channel();
        let release = Arc::new((Mutex::new(false), Condvar::new()));
        for index in 0..64 {
            let started_tx = started_tx.clone();
            let release = release.clone();
            pool.execute(move || {
                started_tx.send(index).ok();
                let (flag, cvar) = &*release;
                let mut go = flag.lock().unwrap_or_else(|p| p.into_inner());
                while !*go {
                    go = cvar.wait(go).unwrap_or_else(|p| p.into_inner());
                }
            });
        }
        // every job blocks until released: all 64 must be running together
        for _ in 0..64 {
            started_rx
                .recv_timeout(Duration::from_secs(2))
                .expect("every job of the burst starts without waiting for another");
        }
        assert!(pool.threads() >= 64);
        let (flag, cvar) = &*release;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cvar.notify_all();
        pool.shutdown(Duration::from_secs(2));
    }

    #[test]
    fn idle_threads_are_reused() {
        let pool = IoPool::new(1, 8);
        let (tx, rx) = mpsc::channel();
        for index in 0..100 {
            let tx = tx.clone();
            pool.execute(move || {
                tx.send(index).ok();
            });
            rx.recv_timeout(Duration::from_secs(2)).expect("job ran");
            // the job signals before its thread is back waiting: let it get there
            pool.wait_until_idle(Duration::from_secs(2));
        }
        assert!(pool.threads() <= 2, "sequential jobs reuse one thread");
    }
}
