//! Node scoring of the default kube-scheduler profile for CPU and memory requests.
//!
//! A node's score is the sum of two plugins with weight 1 each, as in the default profile of
//! kube-scheduler v1.33: NodeResourcesFit with the LeastAllocated or MostAllocated strategy, and
//! NodeResourcesBalancedAllocation. Both read CPU and memory with weight 1, and both count the
//! requests already on the node plus the incoming pod's.
//!
//! [`first_fit_decreasing`] is not part of kube-scheduler: it is the placement simulation the
//! node provisioner runs to decide launches and consolidation, as Karpenter's scheduler does.
//!
//! # Not modelled
//!
//! * Ties: kube-scheduler picks one of the top-scoring nodes at random. Here the node that
//!   comes first in the cluster's node order wins, so runs stay reproducible.
//! * The other default plugins: PodTopologySpread (its system default spreads pods over
//!   hosts and zones), InterPodAffinity, NodeAffinity, TaintToleration and ImageLocality.
//! * Filtering by anything but free CPU and memory (ports, volumes, taints), preemption, and
//!   `percentageOfNodesToScore` sampling in large clusters.

use crate::config::ScoringStrategy;

/// Highest score of one plugin (`framework.MaxNodeScore`).
const MAX_NODE_SCORE: i64 = 100;

/// Room and requests of one node, in millicores and bytes; requests include background pods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NodeRoom {
    /// Allocatable CPU.
    pub cpu_milli: i64,
    /// Allocatable memory.
    pub memory_bytes: i64,
    /// CPU requested by pods already on the node.
    pub requested_cpu_milli: i64,
    /// Memory requested by pods already on the node.
    pub requested_memory_bytes: i64,
}

impl NodeRoom {
    /// Tests whether a pod with these requests fits (the NodeResourcesFit filter).
    pub fn fits(&self, cpu_milli: i64, memory_bytes: i64) -> bool {
        self.requested_cpu_milli + cpu_milli <= self.cpu_milli
            && self.requested_memory_bytes + memory_bytes <= self.memory_bytes
    }

    /// Adds a pod's requests to the node's.
    pub fn bind(&mut self, pod: PodRequests) {
        self.requested_cpu_milli += pod.cpu_milli;
        self.requested_memory_bytes += pod.memory_bytes;
    }
}

/// CPU and memory requests of one pod, in millicores and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PodRequests {
    pub cpu_milli: i64,
    pub memory_bytes: i64,
}

/// Sorts pods largest first, by CPU request and then memory request, the order in which
/// Karpenter's scheduler packs pods. The sort is stable, so equal pods keep their order.
pub(crate) fn sort_decreasing(pods: &mut [PodRequests]) {
    pods.sort_by(|a, b| {
        b.cpu_milli
            .cmp(&a.cpu_milli)
            .then(b.memory_bytes.cmp(&a.memory_bytes))
    });
}

/// Places pods by first-fit decreasing: each pod, largest first (see [`sort_decreasing`]),
/// is bound to the first node in `rooms` where both its CPU and memory requests fit. Returns
/// the pods that fit on no node, largest first. `rooms` keeps the placed pods' requests.
pub(crate) fn first_fit_decreasing(
    pods: &[PodRequests],
    rooms: &mut [NodeRoom],
) -> Vec<PodRequests> {
    let mut sorted = pods.to_vec();
    sort_decreasing(&mut sorted);
    let mut unplaced = Vec::new();
    for pod in sorted {
        match rooms
            .iter_mut()
            .find(|room| room.fits(pod.cpu_milli, pod.memory_bytes))
        {
            Some(room) => room.bind(pod),
            None => unplaced.push(pod),
        }
    }
    unplaced
}

/// Scores a node for a pod with the given requests: NodeResourcesFit plus
/// NodeResourcesBalancedAllocation, from 0 to 200. The caller checks [`NodeRoom::fits`] first.
pub(crate) fn score(
    strategy: ScoringStrategy,
    node: &NodeRoom,
    cpu_milli: i64,
    memory_bytes: i64,
) -> i64 {
    let cpu_requested = node.requested_cpu_milli + cpu_milli;
    let memory_requested = node.requested_memory_bytes + memory_bytes;
    let fit = (resource_score(strategy, cpu_requested, node.cpu_milli)
        + resource_score(strategy, memory_requested, node.memory_bytes))
        / 2;
    fit + balanced_score(
        cpu_requested,
        node.cpu_milli,
        memory_requested,
        node.memory_bytes,
    )
}

/// Computes one resource's NodeResourcesFit score in integer arithmetic, as `leastRequestedScore` and
/// `mostRequestedScore` compute it.
fn resource_score(strategy: ScoringStrategy, requested: i64, capacity: i64) -> i64 {
    if capacity <= 0 {
        return 0;
    }
    match strategy {
        ScoringStrategy::LeastAllocated => {
            if requested > capacity {
                0
            } else {
                (capacity - requested) * MAX_NODE_SCORE / capacity
            }
        }
        ScoringStrategy::MostAllocated => requested.min(capacity) * MAX_NODE_SCORE / capacity,
    }
}

/// NodeResourcesBalancedAllocation: `(1 - std) * 100` over the requested fractions of CPU and
/// memory, where the standard deviation of two values is half their difference.
fn balanced_score(cpu_requested: i64, cpu: i64, memory_requested: i64, memory: i64) -> i64 {
    let fraction = |requested: i64, capacity: i64| {
        if capacity <= 0 {
            1.0
        } else {
            (requested as f64 / capacity as f64).min(1.0)
        }
    };
    let std = (fraction(cpu_requested, cpu) - fraction(memory_requested, memory)).abs() / 2.0;
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(requested_cpu: i64, requested_memory: i64) -> NodeRoom {
        NodeRoom {
            cpu_milli: 4000,
            memory_bytes: 4000,
            requested_cpu_milli: requested_cpu,
            requested_memory_bytes: requested_memory,
        }
    }

    #[test]
    fn least_allocated_prefers_emptier_node() {
        let empty = score(ScoringStrategy::LeastAllocated, &node(0, 0), 1000, 1000);
        let busy = score(
            ScoringStrategy::LeastAllocated,
            &node(2000, 2000),
            1000,
            1000,
        );
        // Fit: 75 against 25; both balanced at 100.
        assert_eq!(empty, 175);
        assert_eq!(busy, 125);
    }

    #[test]
    fn most_allocated_prefers_fuller_node() {
        let empty = score(ScoringStrategy::MostAllocated, &node(0, 0), 1000, 1000);
        let busy = score(
            ScoringStrategy::MostAllocated,
            &node(2000, 2000),
            1000,
            1000,
        );
        assert_eq!(empty, 125);
        assert_eq!(busy, 175);
    }

    #[test]
    fn balanced_allocation_penalizes_skew() {
        // CPU 75% and memory 25% after binding: std 0.25, balanced score 75.
        let skewed = score(ScoringStrategy::LeastAllocated, &node(2000, 0), 1000, 1000);
        assert_eq!(skewed, (25 + 75) / 2 + 75);
    }

    #[test]
    fn fits_checks_cpu_and_memory() {
        let room = node(3500, 0);
        assert!(room.fits(500, 1000));
        assert!(!room.fits(501, 1000));
        assert!(node(0, 3000).fits(100, 1000));
        assert!(!node(0, 3000).fits(100, 1001));
    }

    fn pod(cpu_milli: i64, memory_bytes: i64) -> PodRequests {
        PodRequests {
            cpu_milli,
            memory_bytes,
        }
    }

    #[test]
    fn decreasing_order_is_cpu_then_memory() {
        let mut pods = vec![pod(1000, 10), pod(3000, 5), pod(1000, 30), pod(3000, 5)];
        sort_decreasing(&mut pods);
        assert_eq!(
            pods,
            vec![pod(3000, 5), pod(3000, 5), pod(1000, 30), pod(1000, 10)]
        );
    }

    #[test]
    fn first_fit_decreasing_places_large_pods_first() {
        // In arrival order the two small pods would share the first node, so the second large
        // pod would find no room. Largest first, each node takes one large and one small pod.
        let pods = [
            pod(1000, 100),
            pod(1000, 100),
            pod(3000, 100),
            pod(3000, 100),
        ];
        let mut rooms = [node(0, 0), node(0, 0)];
        let unplaced = first_fit_decreasing(&pods, &mut rooms);
        assert!(unplaced.is_empty(), "{unplaced:?}");
        assert_eq!(rooms[0].requested_cpu_milli, 4000);
        assert_eq!(rooms[1].requested_cpu_milli, 4000);
        assert_eq!(rooms[0].requested_memory_bytes, 200);
    }

    #[test]
    fn first_fit_decreasing_checks_memory_per_node() {
        // 3500 bytes of memory are free in all, more than the three pods request, and CPU is
        // plentiful, but no node has room for two of them and the last node none.
        let pods = [pod(100, 1000), pod(100, 1000), pod(100, 1000)];
        let mut rooms = [node(0, 2500), node(0, 2500), node(0, 3500)];
        let unplaced = first_fit_decreasing(&pods, &mut rooms);
        assert_eq!(unplaced, vec![pod(100, 1000)]);
        assert_eq!(rooms[0].requested_memory_bytes, 3500);
        assert_eq!(rooms[1].requested_memory_bytes, 3500);
        assert_eq!(rooms[2].requested_memory_bytes, 3500);
    }
}
