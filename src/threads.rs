//! [`set_num_threads`]: how many threads the crate's work runs on, from the API (PyTorch's
//! `torch.set_num_threads`), as `RAYON_NUM_THREADS` sets it from the environment.

use crate::{Error, Result};
use std::sync::{Arc, RwLock};

/// The pool set by [`set_num_threads`]; `None`: rayon's global pool.
static POOL: RwLock<Option<Arc<rayon::ThreadPool>>> = RwLock::new(None);

/// Runs the crate's parallel work (training steps, forward passes, evaluation) on a pool of
/// `threads` threads of its own from now on, in the whole process; `None` goes back to rayon's
/// global pool (`RAYON_NUM_THREADS` threads, else one per core). The results are bit-identical
/// on any number of threads: the work is split in fixed parts, never along a sum.
///
/// ```
/// feedforward::set_num_threads(Some(1))?;
/// assert_eq!(feedforward::num_threads(), 1);
/// feedforward::set_num_threads(None)?;
/// # Ok::<(), feedforward::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidConfig`] for 0 threads, or when the threads cannot be started.
pub fn set_num_threads(threads: Option<usize>) -> Result<()> {
    let pool = match threads {
        None => None,
        Some(0) => return Err(Error::config("threads", 0, "at least 1")),
        Some(n) => Some(Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|i| format!("feedforward-{i}"))
                .build()
                .map_err(|e| Error::config("threads", n, format!("threads that start: {e}")))?,
        )),
    };
    *POOL.write().unwrap_or_else(|e| e.into_inner()) = pool;
    Ok(())
}

/// The number of threads the crate's work runs on: as [`set_num_threads`] set it, else the
/// size of rayon's global pool.
pub fn num_threads() -> usize {
    match pool() {
        Some(pool) => pool.current_num_threads(),
        None => rayon::current_num_threads(),
    }
}

/// The pool of [`set_num_threads`], if one is set.
pub(crate) fn pool() -> Option<Arc<rayon::ThreadPool>> {
    POOL.read().unwrap_or_else(|e| e.into_inner()).clone()
}
