//! A pool of worker threads kept between ticks, for the per-Deployment work of
//! [`crate::cluster::Cluster::step`] and the HPA reconciles of
//! [`crate::baseline::BaselineHpa::reconcile_cluster`].
//!
//! Work is split into a few contiguous chunks per thread, and results are gathered in chunk
//! order, so they do not depend on the thread count. Starting threads once, rather than in
//! every tick, keeps the cost of a parallel pass to waking the workers. With more chunks
//! than threads, an idle worker takes over chunks from a worker that the operating system
//! has paused. This matters on a machine shared with other processes.

use std::sync::Arc;

use rayon::prelude::*;

/// Chunks per worker thread.
const CHUNKS_PER_THREAD: usize = 4;

/// Worker threads, or none to run everything on the caller's thread.
#[derive(Debug, Clone, Default)]
pub(crate) struct Workers {
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Workers {
    /// Starts `threads` workers; 1 or 0 starts none. If the threads cannot be started, the
    /// work runs on the caller's thread.
    pub(crate) fn new(threads: usize) -> Self {
        if threads <= 1 {
            return Self::default();
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|index| format!("arbiter-sim-{index}"))
            .build()
            .ok()
            .map(Arc::new);
        Self { pool }
    }

    /// Number of threads the work is split over.
    pub(crate) fn threads(&self) -> usize {
        self.pool
            .as_ref()
            .map_or(1, |pool| pool.current_num_threads())
    }

    /// Number of chunks [`Workers::map_chunks`] splits the work into, at most.
    pub(crate) fn chunks(&self) -> usize {
        match self.pool {
            Some(_) => self.threads() * CHUNKS_PER_THREAD,
            None => 1,
        }
    }

    /// Runs `work` over contiguous chunks of `items`, and returns its results in chunk order.
    /// `state` has one value per chunk, such as reused buffers, and must have at least
    /// [`Workers::chunks`] entries.
    pub(crate) fn map_chunks<T, S, R>(
        &self,
        items: &mut [T],
        state: &mut [S],
        work: impl Fn(&mut [T], &mut S) -> R + Sync,
    ) -> Vec<R>
    where
        T: Send,
        S: Send,
        R: Send,
    {
        let Some(pool) = self.pool.as_ref().filter(|_| items.len() >= 2) else {
            return vec![work(items, &mut state[0])];
        };
        let chunk_size = items.len().div_ceil(self.chunks());
        pool.install(|| {
            items
                .par_chunks_mut(chunk_size)
                .zip(state.par_iter_mut())
                .map(|(chunk, state)| work(chunk, state))
                .collect()
        })
    }

    /// Runs `work` over contiguous chunks of `items`.
    pub(crate) fn for_chunks<T: Send>(&self, items: &mut [T], work: impl Fn(&mut [T]) + Sync) {
        let mut state = vec![(); self.chunks()];
        self.map_chunks(items, &mut state, |chunk, _| work(chunk));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_item_once_in_order() {
        for threads in [1, 2, 3, 8] {
            let workers = Workers::new(threads);
            let mut items: Vec<u32> = (0..101).collect();
            let mut state = vec![0_u32; workers.chunks()];
            let sums = workers.map_chunks(&mut items, &mut state, |chunk, seen| {
                for item in chunk.iter_mut() {
                    *item *= 2;
                    *seen += 1;
                }
                chunk.first().copied()
            });
            assert_eq!(items, (0..101).map(|item| item * 2).collect::<Vec<_>>());
            assert_eq!(state.iter().sum::<u32>(), 101, "threads {threads}");
            let firsts: Vec<u32> = sums.into_iter().flatten().collect();
            let mut sorted = firsts.clone();
            sorted.sort_unstable();
            assert_eq!(
                firsts, sorted,
                "results in chunk order with {threads} threads"
            );
            assert_eq!(firsts[0], 0);
        }
    }
}
