//! Nodes, node failures and drains, and a Karpenter-like node provisioner.
//!
//! The static pool from [`crate::config::NodePoolConfig`] is always there. With a
//! [`ProvisionerConfig`], unschedulable pods make the provisioner launch the cheapest instance
//! type that fits them (or the largest, repeatedly, when none fits them all); launched nodes
//! take pods after the launch delay. A provisioned node that stays empty, or whose CPU requests
//! stay below the underutilization share while its pods fit on the other nodes, for
//! `consolidate_after_s` is drained and removed, at most the disruption budget at a time.
//!
//! # Not modelled
//!
//! * Karpenter's replace consolidation (launching a cheaper node for the pods of several),
//!   drift, expiry, spot interruptions and capacity errors of the cloud provider.
//! * Bin-packing: whether evicted pods fit elsewhere is checked by free slots per node, and a
//!   launch covers the pending pods by count, not by exact placement.
//! * PodDisruptionBudgets and eviction grace periods: a drain deletes the node's pods at once,
//!   and a drained node is removed one tick later.
//! * Node failures other than the ones a caller injects with [`Cluster::fail_node`]; a NotReady
//!   node is never replaced by the provisioner.

use arbiter_core::snapshot::PodPhase;

use crate::SimError;
use crate::config::ProvisionerConfig;

use super::Cluster;
use super::scheduler::NodeRoom;

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

    /// Runs one provisioner pass: launched nodes turn Ready, unschedulable pods get new nodes,
    /// and candidates for consolidation are drained and removed within the disruption budget.
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
        self.launch_for_pending(provisioner);
        self.consolidate(provisioner);
    }

    fn launch_for_pending(&mut self, provisioner: &ProvisionerConfig) {
        let workload = &self.config.workload;
        let (cpu, memory) = (workload.cpu_request_milli, workload.memory_request_bytes);
        let pending: i64 = self
            .deployments
            .iter()
            .map(|deployment| {
                deployment
                    .pods
                    .iter()
                    .filter(|pod| pod.node.is_none() && pod.phase == PodPhase::Pending)
                    .count() as i64
            })
            .sum();
        let launching: i64 = self
            .nodes
            .iter()
            .filter(|node| matches!(node.state, NodeState::Launching { .. }))
            .map(|node| node.room().free_slots(cpu, memory))
            .sum();
        let mut uncovered = pending - launching;
        let background = (
            self.config.nodes.background_cpu_milli,
            self.config.nodes.background_memory_bytes,
        );
        let slots = |instance: &crate::config::InstanceType| {
            NodeRoom {
                cpu_milli: instance.cpu_milli,
                memory_bytes: instance.memory_bytes,
                requested_cpu_milli: background.0,
                requested_memory_bytes: background.1,
            }
            .free_slots(cpu, memory)
        };
        while uncovered > 0 {
            let provisioned = self
                .nodes
                .iter()
                .filter(|node| node.provisioned && node.exists())
                .count();
            if provisioned >= provisioner.max_nodes {
                break;
            }
            let cheapest_fitting = provisioner
                .instance_types
                .iter()
                .filter(|instance| slots(instance) >= uncovered)
                .min_by(|a, b| a.price_per_hour.total_cmp(&b.price_per_hour));
            let largest = provisioner
                .instance_types
                .iter()
                .filter(|instance| slots(instance) > 0)
                .max_by_key(|instance| slots(instance));
            let Some(instance) = cheapest_fitting.or(largest) else {
                break;
            };
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
            uncovered -= slots(instance);
            self.nodes.push(node);
        }
    }

    fn consolidate(&mut self, provisioner: &ProvisionerConfig) {
        let now = self.time_s;
        let workload = &self.config.workload;
        let (cpu, memory) = (workload.cpu_request_milli, workload.memory_request_bytes);
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
            let pods = i64::from(self.nodes[index].bound_pods);
            if pods > 0 {
                let elsewhere: i64 = self
                    .nodes
                    .iter()
                    .enumerate()
                    .filter(|(other, node)| *other != index && node.schedulable())
                    .map(|(_, node)| node.room().free_slots(cpu, memory))
                    .sum();
                if elsewhere < pods {
                    continue;
                }
            }
            self.nodes[index].state = NodeState::Cordoned;
            self.nodes[index].candidate_since_s = None;
            self.evict_node_pods(index);
            disrupting += 1;
        }
    }
}
