//! Nodes, node failures and drains, and a Karpenter-like node provisioner.
//!
//! The static pool from [`crate::config::NodePoolConfig`] is always there. With a
//! [`ProvisionerConfig`], the provisioner simulates scheduling as Karpenter does, by first-fit
//! decreasing of the pods' CPU and memory requests (see [`plan_launches`]):
//!
//! * Launch: unschedulable pods are packed onto the room of launching nodes and of nodes that
//!   turned Ready in this pass, then onto new nodes. A new node fills up to the largest
//!   instance type and gets the cheapest type that fits its pods. Launched nodes take pods
//!   after the launch delay.
//! * Consolidation: a provisioned node that stays empty, or whose CPU requests stay below the
//!   underutilization share, for `consolidate_after_s` is drained and removed, at most the
//!   disruption budget at a time. It goes only if a first-fit placement of its pods onto the
//!   other schedulable nodes fits them all. Pods placed there in the same pass reduce the room
//!   the next candidate's pods find.
//! * Repair: a provisioned node NotReady for `repair_after_s` is removed. Its pods were
//!   evicted after the eviction timeout (or are evicted at removal, if that comes first) and
//!   get new nodes like any pending pod.
//!
//! # Not modelled
//!
//! * Karpenter's replace consolidation (launching a cheaper node for the pods of several),
//!   drift, expiry, spot interruptions and capacity errors of the cloud provider.
//! * The provisioner's placement is a plan, not a binding: kube-scheduler then binds pods by
//!   score (see [`super::scheduler`]) and may place them differently. All Deployments share
//!   one pod template, so all pods have equal requests and the scheduler binds as many of
//!   them as the plan placed. With unequal requests its order could leave a pod Pending that
//!   the plan placed.
//! * Consolidation places a candidate's pods only on schedulable nodes (Ready, not cordoned).
//!   Launching nodes and pending pods are left out of its simulation, and no node is launched
//!   to take the candidate's pods.
//! * Karpenter's limit on how many unhealthy nodes it repairs at once: every provisioned
//!   node NotReady past `repair_after_s` is removed, outside the disruption budget.
//! * PodDisruptionBudgets and eviction grace periods: a drain deletes the node's pods at once,
//!   and a drained node is removed one tick later.
//! * Node failures other than the ones a caller injects with [`Cluster::fail_node`]. A failed
//!   static node stays NotReady, and counted, until [`Cluster::recover_node`].

use arbiter_core::snapshot::PodPhase;

use crate::SimError;
use crate::config::{InstanceType, ProvisionerConfig};

use super::Cluster;
use super::scheduler::{NodeRoom, PodRequests, first_fit_decreasing, sort_decreasing};

/// Lifecycle state of a node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NodeState {
    /// Launched by the provisioner, not yet Ready.
    Launching {
        /// When it turns Ready.
        ready_at_s: f64,
    },
    /// Ready and schedulable.
    Ready,
    /// Cordoned: Ready, running its pods, but taking no new ones.
    Cordoned,
    /// The kubelet stopped reporting; its pods are evicted after the eviction timeout.
    NotReady {
        /// When it became NotReady.
        since_s: f64,
    },
    /// Removed from the cluster; the slot stays so node indices are stable.
    Removed,
}

/// One simulated node.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub name: String,
    pub cpu_milli: i64,
    pub memory_bytes: i64,
    pub background_cpu_milli: i64,
    pub background_memory_bytes: i64,
    /// Requests of bound pods, background included.
    pub requested_cpu_milli: i64,
    pub requested_memory_bytes: i64,
    pub state: NodeState,
    /// Whether the provisioner launched it, so it may consolidate it.
    pub provisioned: bool,
    /// Exercise pods bound to it.
    pub bound_pods: u32,
    /// Since when it has been a consolidation candidate.
    pub candidate_since_s: Option<f64>,
    /// Ready exercise pods on it this tick (scratch).
    pub ready_pods: u32,
    /// CPU of exercise pods this tick, in millicores (scratch).
    pub exercise_cpu_milli: f64,
    /// Memory of exercise pods this tick, in bytes (scratch).
    pub exercise_memory_bytes: f64,
}

impl Node {
    pub fn new(name: String, cpu_milli: i64, memory_bytes: i64, background: (i64, i64)) -> Self {
        Self {
            name,
            cpu_milli,
            memory_bytes,
            background_cpu_milli: background.0,
            background_memory_bytes: background.1,
            requested_cpu_milli: background.0,
            requested_memory_bytes: background.1,
            state: NodeState::Ready,
            provisioned: false,
            bound_pods: 0,
            candidate_since_s: None,
            ready_pods: 0,
            exercise_cpu_milli: 0.0,
            exercise_memory_bytes: 0.0,
        }
    }

    pub fn room(&self) -> NodeRoom {
        NodeRoom {
            cpu_milli: self.cpu_milli,
            memory_bytes: self.memory_bytes,
            requested_cpu_milli: self.requested_cpu_milli,
            requested_memory_bytes: self.requested_memory_bytes,
        }
    }

    pub fn schedulable(&self) -> bool {
        self.state == NodeState::Ready
    }

    /// Whether the node exists and is billed: launching, Ready, cordoned or NotReady.
    pub fn exists(&self) -> bool {
        self.state != NodeState::Removed
    }

    /// Whether the node is registered with the API server (listed in snapshots).
    pub fn registered(&self) -> bool {
        !matches!(self.state, NodeState::Launching { .. } | NodeState::Removed)
    }
}

impl Cluster {
    fn node_index(&self, node: &str) -> Result<usize, SimError> {
        self.nodes
            .iter()
            .position(|candidate| candidate.name == node && candidate.exists())
            .ok_or_else(|| SimError::UnknownNode {
                node: node.to_owned(),
                known: self
                    .nodes
                    .iter()
                    .filter(|candidate| candidate.exists())
                    .map(|candidate| candidate.name.clone())
                    .collect(),
            })
    }

    /// Marks a node NotReady, as when its kubelet stops reporting: its pods stop serving and
    /// lose their metrics at once, and are deleted and replaced elsewhere after
    /// `failures.pod_eviction_timeout_s`.
    pub fn fail_node(&mut self, node: &str) -> Result<(), SimError> {
        let index = self.node_index(node)?;
        let now = self.time_s;
        self.nodes[index].state = NodeState::NotReady { since_s: now };
        for deployment in &mut self.deployments {
            for pod in deployment
                .pods
                .iter_mut()
                .filter(|pod| pod.node == Some(index))
            {
                pod.node_lost = true;
                pod.set_unready(now);
            }
        }
        Ok(())
    }

    /// Brings a NotReady node back to Ready; pods still bound to it resume, with a new
    /// readiness check.
    pub fn recover_node(&mut self, node: &str) -> Result<(), SimError> {
        let index = self.node_index(node)?;
        let now = self.time_s;
        let readiness_delay = self.config.startup.readiness_delay_s;
        self.nodes[index].state = NodeState::Ready;
        for deployment in &mut self.deployments {
            for pod in deployment
                .pods
                .iter_mut()
                .filter(|pod| pod.node == Some(index) && pod.node_lost)
            {
                pod.node_lost = false;
                pod.ready_at_s = Some(now + readiness_delay);
            }
        }
        Ok(())
    }

    /// Drains a node as `kubectl drain` does: cordons it and evicts its exercise pods, which
    /// the ReplicaSet controller replaces on other nodes at the next tick. Returns the number
    /// of evicted pods.
    pub fn drain_node(&mut self, node: &str) -> Result<usize, SimError> {
        let index = self.node_index(node)?;
        if self.nodes[index].state == NodeState::Ready {
            self.nodes[index].state = NodeState::Cordoned;
        }
        Ok(self.evict_node_pods(index))
    }

    /// Makes a cordoned node schedulable again.
    pub fn uncordon_node(&mut self, node: &str) -> Result<(), SimError> {
        let index = self.node_index(node)?;
        if self.nodes[index].state == NodeState::Cordoned {
            self.nodes[index].state = NodeState::Ready;
        }
        Ok(())
    }

    /// Deletes every exercise pod bound to a node; returns how many.
    pub(crate) fn evict_node_pods(&mut self, index: usize) -> usize {
        let mut evicted = 0;
        for deployment_index in 0..self.deployments.len() {
            let doomed: Vec<usize> = self.deployments[deployment_index]
                .pods
                .iter()
                .enumerate()
                .filter(|(_, pod)| pod.node == Some(index))
                .map(|(pod_index, _)| pod_index)
                .collect();
            evicted += doomed.len();
            self.delete_pods(deployment_index, doomed);
        }
        evicted
    }

    /// Evicts the pods of nodes NotReady for longer than the eviction timeout; returns how many.
    pub(crate) fn evict_from_lost_nodes(&mut self) -> usize {
        let timeout = self.config.failures.pod_eviction_timeout_s;
        let now = self.time_s;
        let mut evicted = 0;
        for index in 0..self.nodes.len() {
            if let NodeState::NotReady { since_s } = self.nodes[index].state
                && now - since_s >= timeout
                && self.nodes[index].bound_pods > 0
            {
                evicted += self.evict_node_pods(index);
            }
        }
        evicted
    }

    /// Runs one provisioner pass: launched nodes turn Ready, failed provisioned nodes are
    /// removed after the repair delay, unschedulable pods get new nodes, and candidates for
    /// consolidation are drained and removed within the disruption budget.
    pub(crate) fn provision(&mut self, provisioner: &ProvisionerConfig) {
        let now = self.time_s;
        for node in &mut self.nodes {
            match node.state {
                NodeState::Launching { ready_at_s } if now >= ready_at_s => {
                    node.state = NodeState::Ready;
                }
                // A drained provisioned node is removed once its pods are gone.
                NodeState::Cordoned if node.provisioned && node.bound_pods == 0 => {
                    node.state = NodeState::Removed;
                }
                _ => {}
            }
        }
        self.repair(provisioner);
        self.launch_for_pending(provisioner);
        self.consolidate(provisioner);
    }

    fn launch_for_pending(&mut self, provisioner: &ProvisionerConfig) {
        let pending = self.pending_pod_requests();
        if pending.is_empty() {
            return;
        }
        // Nodes that turned Ready in this pass have not taken pods yet, so Ready nodes count
        // as well as launching ones.
        let mut existing: Vec<NodeRoom> = self
            .nodes
            .iter()
            .filter(|node| node.schedulable() || matches!(node.state, NodeState::Launching { .. }))
            .map(Node::room)
            .collect();
        let provisioned = self
            .nodes
            .iter()
            .filter(|node| node.provisioned && node.exists())
            .count();
        let background = (
            self.config.nodes.background_cpu_milli,
            self.config.nodes.background_memory_bytes,
        );
        let plan = plan_launches(
            &pending,
            &mut existing,
            &provisioner.instance_types,
            background,
            provisioner.max_nodes.saturating_sub(provisioned),
        );
        for instance_index in plan {
            let instance = &provisioner.instance_types[instance_index];
            let mut node = Node::new(
                format!("{}-{:05}", instance.name, self.launched_nodes),
                instance.cpu_milli,
                instance.memory_bytes,
                background,
            );
            self.launched_nodes += 1;
            node.provisioned = true;
            node.state = NodeState::Launching {
                ready_at_s: self.time_s + provisioner.launch_delay_s,
            };
            self.nodes.push(node);
        }
    }

    /// Removes provisioned nodes NotReady for `repair_after_s` or longer, as Karpenter's node
    /// repair does, after evicting any pods still bound to them. Static nodes stay until
    /// [`Cluster::recover_node`].
    fn repair(&mut self, provisioner: &ProvisionerConfig) {
        let now = self.time_s;
        for index in 0..self.nodes.len() {
            let node = &self.nodes[index];
            if let NodeState::NotReady { since_s } = node.state
                && node.provisioned
                && now - since_s >= provisioner.repair_after_s
            {
                self.evicted_this_tick += self.evict_node_pods(index);
                self.nodes[index].state = NodeState::Removed;
            }
        }
    }

    fn consolidate(&mut self, provisioner: &ProvisionerConfig) {
        let now = self.time_s;
        let provisioned = self
            .nodes
            .iter()
            .filter(|node| node.provisioned && node.exists())
            .count();
        let budget = ((provisioned as f64 * provisioner.disruption_budget).ceil() as usize).max(1);
        let mut disrupting = self
            .nodes
            .iter()
            .filter(|node| node.provisioned && node.state == NodeState::Cordoned)
            .count();
        // Room of every node as the pods of the nodes consolidated in this pass will find it,
        // and which nodes still take pods.
        let mut rooms: Vec<NodeRoom> = self.nodes.iter().map(Node::room).collect();
        let mut schedulable: Vec<bool> = self.nodes.iter().map(Node::schedulable).collect();
        for index in 0..self.nodes.len() {
            let node = &self.nodes[index];
            if !node.provisioned || node.state != NodeState::Ready {
                continue;
            }
            let exercise_cpu = node.requested_cpu_milli - node.background_cpu_milli;
            let room = (node.cpu_milli - node.background_cpu_milli).max(1);
            let candidate = node.bound_pods == 0
                || (exercise_cpu as f64) < provisioner.underutilized_below * room as f64;
            if !candidate {
                self.nodes[index].candidate_since_s = None;
                continue;
            }
            let since = *self.nodes[index].candidate_since_s.get_or_insert(now);
            if now - since < provisioner.consolidate_after_s || disrupting >= budget {
                continue;
            }
            let pods = self.bound_pod_requests(index);
            if !pods.is_empty() {
                let others: Vec<usize> = (0..self.nodes.len())
                    .filter(|&other| other != index && schedulable[other])
                    .collect();
                let mut trial: Vec<NodeRoom> = others.iter().map(|&other| rooms[other]).collect();
                if !first_fit_decreasing(&pods, &mut trial).is_empty() {
                    continue;
                }
                for (other, room) in others.into_iter().zip(trial) {
                    rooms[other] = room;
                }
            }
            schedulable[index] = false;
            self.nodes[index].state = NodeState::Cordoned;
            self.nodes[index].candidate_since_s = None;
            self.evicted_this_tick += self.evict_node_pods(index);
            disrupting += 1;
        }
    }

    /// Requests of one exercise pod: every Deployment has the same template.
    fn pod_requests(&self) -> PodRequests {
        PodRequests {
            cpu_milli: self.config.workload.cpu_request_milli,
            memory_bytes: self.config.workload.memory_request_bytes,
        }
    }

    /// Requests of the Pending pods bound to no node, in Deployment and pod order.
    fn pending_pod_requests(&self) -> Vec<PodRequests> {
        let requests = self.pod_requests();
        self.deployments
            .iter()
            .flat_map(|deployment| &deployment.pods)
            .filter(|pod| pod.node.is_none() && pod.phase == PodPhase::Pending)
            .map(|_| requests)
            .collect()
    }

    /// Requests of the exercise pods bound to the node at `index`.
    fn bound_pod_requests(&self, index: usize) -> Vec<PodRequests> {
        let requests = self.pod_requests();
        self.deployments
            .iter()
            .flat_map(|deployment| &deployment.pods)
            .filter(|pod| pod.node == Some(index))
            .map(|_| requests)
            .collect()
    }
}

/// A node the provisioner plans to launch.
struct PlannedNode {
    /// Requests of the pods packed onto it, background included.
    requested: PodRequests,
    /// Indices of the instance types that fit all of them, in configuration order.
    fitting: Vec<usize>,
}

/// Returns whether `instance`, with `requested` already on it, fits `pod`.
fn instance_fits(instance: &InstanceType, requested: PodRequests, pod: PodRequests) -> bool {
    NodeRoom {
        cpu_milli: instance.cpu_milli,
        memory_bytes: instance.memory_bytes,
        requested_cpu_milli: requested.cpu_milli,
        requested_memory_bytes: requested.memory_bytes,
    }
    .fits(pod.cpu_milli, pod.memory_bytes)
}

/// Plans the nodes to launch for `pending` pods by first-fit decreasing over CPU and memory
/// requests, as Karpenter's provisioning simulation does. Each pod, largest first, goes to
/// the first node in `existing` (launching or Ready nodes) with room. Otherwise it goes to the
/// first planned node that some instance type still fits with the pod added, or else to a new
/// planned node while fewer than `max_new` are planned. A new node starts with `background`
/// requests.
/// Each planned node then gets the cheapest instance type that fits its pods, the first
/// listed among equally cheap ones, so the first nodes fill up to the largest type and the
/// last one is sized to what remains.
///
/// Returns the index in `instance_types` of each planned node, in planning order, and
/// `existing` keeps the requests of the pods placed on it. Pods that no instance type fits,
/// and pods left over once `max_new` nodes are planned, get no node.
pub(crate) fn plan_launches(
    pending: &[PodRequests],
    existing: &mut [NodeRoom],
    instance_types: &[InstanceType],
    background: (i64, i64),
    max_new: usize,
) -> Vec<usize> {
    let mut pods = pending.to_vec();
    sort_decreasing(&mut pods);
    let empty = PodRequests {
        cpu_milli: background.0,
        memory_bytes: background.1,
    };
    let mut planned: Vec<PlannedNode> = Vec::new();
    'pods: for pod in pods {
        if let Some(room) = existing
            .iter_mut()
            .find(|room| room.fits(pod.cpu_milli, pod.memory_bytes))
        {
            room.bind(pod);
            continue;
        }
        for node in &mut planned {
            let fitting: Vec<usize> = node
                .fitting
                .iter()
                .copied()
                .filter(|&instance| instance_fits(&instance_types[instance], node.requested, pod))
                .collect();
            if !fitting.is_empty() {
                node.fitting = fitting;
                node.requested.cpu_milli += pod.cpu_milli;
                node.requested.memory_bytes += pod.memory_bytes;
                continue 'pods;
            }
        }
        if planned.len() >= max_new {
            continue;
        }
        let fitting: Vec<usize> = (0..instance_types.len())
            .filter(|&instance| instance_fits(&instance_types[instance], empty, pod))
            .collect();
        if fitting.is_empty() {
            continue;
        }
        planned.push(PlannedNode {
            requested: PodRequests {
                cpu_milli: empty.cpu_milli + pod.cpu_milli,
                memory_bytes: empty.memory_bytes + pod.memory_bytes,
            },
            fitting,
        });
    }
    planned
        .iter()
        .filter_map(|node| {
            node.fitting.iter().copied().min_by(|&a, &b| {
                instance_types[a]
                    .price_per_hour
                    .total_cmp(&instance_types[b].price_per_hour)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GIB, MIB};

    const BACKGROUND: (i64, i64) = (500, 2 * GIB);

    fn pod(cpu_milli: i64, memory_bytes: i64) -> PodRequests {
        PodRequests {
            cpu_milli,
            memory_bytes,
        }
    }

    fn instance_types() -> Vec<InstanceType> {
        ProvisionerConfig::default().instance_types
    }

    fn names(plan: &[usize]) -> Vec<String> {
        let types = instance_types();
        plan.iter()
            .map(|&index| types[index].name.clone())
            .collect()
    }

    #[test]
    fn plan_packs_even_pods_without_over_launch() {
        // An 8-core node has 7500m of room beside the background: five 1500m pods each.
        let pending = vec![pod(1500, 512 * MIB); 10];
        let plan = plan_launches(&pending, &mut [], &instance_types(), BACKGROUND, 100);
        assert_eq!(names(&plan), ["c8", "c8"]);

        let pending = vec![pod(1500, 512 * MIB); 11];
        let plan = plan_launches(&pending, &mut [], &instance_types(), BACKGROUND, 100);
        assert_eq!(
            names(&plan),
            ["c8", "c8", "c2"],
            "the last node is sized to the one pod left"
        );
    }

    /// Six pods of uneven CPU requests, 11 cores in all, out of order.
    fn uneven_pods() -> [PodRequests; 6] {
        [
            pod(500, GIB),
            pod(1000, GIB),
            pod(3000, GIB),
            pod(2500, GIB),
            pod(1000, GIB),
            pod(3000, GIB),
        ]
    }

    #[test]
    fn plan_packs_uneven_pods_largest_first() {
        // Largest first: 3000m and 3000m fill most of an 8-core node, 2500m opens a second
        // node, the two 1000m pods go one to each, and 500m fills the first node to its
        // 7500m of room. The second node gets 3500m, which a 4-core node fits exactly.
        let pending = uneven_pods();
        let plan = plan_launches(&pending, &mut [], &instance_types(), BACKGROUND, 100);
        assert_eq!(names(&plan), ["c8", "c4"]);
    }

    #[test]
    fn plan_uses_launching_room_first() {
        let types = instance_types();
        let mut launching = [NodeRoom {
            cpu_milli: types[1].cpu_milli,
            memory_bytes: types[1].memory_bytes,
            requested_cpu_milli: BACKGROUND.0,
            requested_memory_bytes: BACKGROUND.1,
        }];
        let pending = uneven_pods();
        let plan = plan_launches(&pending, &mut launching, &types, BACKGROUND, 100);
        // The launching 4-core node takes 3000m and 500m; the other 7500m fill one c8.
        assert_eq!(names(&plan), ["c8"]);
        assert_eq!(launching[0].requested_cpu_milli, 4000);
    }

    #[test]
    fn plan_packs_memory_as_well_as_cpu() {
        // 100m pods of 7 GiB: CPU would fit 75 on an 8-core node, memory fits 4 (30 GiB free).
        let pending = vec![pod(100, 7 * GIB); 9];
        let plan = plan_launches(&pending, &mut [], &instance_types(), BACKGROUND, 100);
        // 4 + 4 on 8-core nodes; the last pod needs 7 GiB beside 2 GiB, so a 4-core node.
        assert_eq!(names(&plan), ["c8", "c8", "c4"]);
    }

    #[test]
    fn plan_limits_nodes_and_skips_oversized() {
        let pending = vec![pod(1500, 512 * MIB); 10];
        let plan = plan_launches(&pending, &mut [], &instance_types(), BACKGROUND, 1);
        assert_eq!(names(&plan), ["c8"]);

        let oversized = [pod(9000, GIB)];
        let plan = plan_launches(&oversized, &mut [], &instance_types(), BACKGROUND, 100);
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn plan_picks_first_of_equally_cheap_types() {
        let mut types = instance_types();
        types.push(InstanceType {
            name: "m8".to_owned(),
            cpu_milli: 8000,
            memory_bytes: 64 * GIB,
            price_per_hour: 0.4,
        });
        let pending = vec![pod(1500, 512 * MIB); 5];
        let plan = plan_launches(&pending, &mut [], &types, BACKGROUND, 100);
        assert_eq!(plan, [2]);
    }
}
