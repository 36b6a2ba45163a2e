//! Supervision: an actor that fails is restarted alone, with backoff, and counted.
//!
//! actix's own `Supervisor` restarts an actor that *stops*, but a panic in a handler unwinds
//! through the actor's task and drops it without stopping it, so that mechanism never sees it.
//! Ours watches the one thing every death has in common: the actor value is dropped. Each child
//! owns a [`ChildGuard`]; when the guard is dropped it tells its [`Supervisor`], saying whether
//! the actor had stopped in an orderly way first (`stopped()` marks the guard) or died (a panic,
//! or its task was torn down).
//!
//! The supervisor owns the children's addresses, so a restarted child's new address is never
//! stale anywhere: everyone reaches a child through [`ToChild`] (one child, with an answer) or
//! [`Broadcast`] (every live child, fire and forget). Restarts back off exponentially
//! (`base * 2^n`, capped), and the count resets once a child has stayed up for a minute. A
//! restart on request ([`RestartChild`]) stops the child in an orderly way and starts a new one at
//! once, touching no other child.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::metrics::Metrics;

/// An actor a [`Supervisor`] can (re)create from its spec.
pub trait SupervisedActor: Actor<Context = Context<Self>> + Handler<StopChild> {
    /// Everything needed to create the actor again from nothing.
    type Spec: Clone + Unpin + 'static;
    /// A short name for logs and metrics (`relay`, `bot`, ...).
    const KIND: &'static str;
    fn build(spec: &Self::Spec, guard: ChildGuard) -> Self;
}

/// Held by a child; tells the supervisor when the child is gone.
pub struct ChildGuard {
    name: String,
    generation: u64,
    orderly: bool,
    supervisor: Recipient<ChildExited>,
}

impl ChildGuard {
    /// Call from the child's `stopped()`: the exit was orderly, not a crash.
    pub fn mark_stopped(&mut self) {
        self.orderly = true;
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A guard that reports to nobody, for an actor started outside a supervisor (tests).
    pub fn detached(name: &str) -> ChildGuard {
        let sink = Sink.start();
        ChildGuard {
            name: name.to_string(),
            generation: 0,
            orderly: false,
            supervisor: sink.recipient(),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.supervisor.do_send(ChildExited {
            name: std::mem::take(&mut self.name),
            generation: self.generation,
            orderly: self.orderly,
        });
    }
}

/// An actor that swallows exit notices, behind [`ChildGuard::detached`].
struct Sink;
impl Actor for Sink {
    type Context = Context<Self>;
}
impl Handler<ChildExited> for Sink {
    type Result = ();
    fn handle(&mut self, _: ChildExited, _: &mut Context<Self>) {}
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ChildExited {
    name: String,
    generation: u64,
    orderly: bool,
}

/// Asks a child to stop in an orderly way (its `stopped()` runs).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct StopChild;

/// Starts (or replaces the spec of) a named child.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StartChild<A: SupervisedActor> {
    pub name: String,
    pub spec: A::Spec,
}

/// Sends `msg` to the named child and returns its answer.
#[derive(Message)]
#[rtype(result = "Result<M::Result, SupervisionError>")]
pub struct ToChild<M>
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    pub name: String,
    pub msg: M,
}

/// Sends a copy of the message to every live child, without waiting.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Broadcast<M: Message + Clone + Send + 'static>(pub M)
where
    M::Result: Send;

/// Restarts one child on request.
#[derive(Message)]
#[rtype(result = "Result<(), SupervisionError>")]
pub struct RestartChild(pub String);

/// Stops the supervisor and, in an orderly way, every child (service shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopAll;

/// The names of the children, with whether each is running now and its restart count.
#[derive(Message)]
#[rtype(result = "Vec<ChildStatus>")]
pub struct ListChildren;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildStatus {
    pub name: String,
    pub running: bool,
    pub restarts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupervisionError {
    #[error("no such {kind}: {name}")]
    UnknownChild { kind: &'static str, name: String },
    #[error("{kind} {name} is restarting; try again shortly")]
    Unavailable { kind: &'static str, name: String },
}

struct Child<A: SupervisedActor> {
    spec: A::Spec,
    addr: Option<Addr<A>>,
    generation: u64,
    started_at: Instant,
    failures_in_row: u32,
    restarts: u64,
    restart_requested: bool,
}

/// Supervises every child of one actor type.
pub struct Supervisor<A: SupervisedActor> {
    children: BTreeMap<String, Child<A>>,
    metrics: Arc<Metrics>,
    base_backoff: Duration,
    max_backoff: Duration,
    stopping: bool,
}

/// A child that stays up this long has its backoff reset.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);

impl<A: SupervisedActor> Supervisor<A> {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Supervisor {
            children: BTreeMap::new(),
            metrics,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            stopping: false,
        }
    }

    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_backoff = base;
        self.max_backoff = max.max(base);
        self
    }

    fn spawn_child(&mut self, name: &str, ctx: &mut Context<Self>) {
        let supervisor = ctx.address().recipient();
        if let Some(child) = self.children.get_mut(name) {
            child.generation += 1;
            let guard = ChildGuard {
                name: name.to_string(),
                generation: child.generation,
                orderly: false,
                supervisor,
            };
            let actor = <A as SupervisedActor>::build(&child.spec, guard);
            child.addr = Some(actor.start());
            child.started_at = Instant::now();
        }
    }

    fn backoff(&self, failures_in_row: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures_in_row.saturating_sub(1).min(16));
        self.base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

impl<A: SupervisedActor> Actor for Supervisor<A> {
    type Context = Context<Self>;

    fn stopping(&mut self, _ctx: &mut Context<Self>) -> Running {
        self.stopping = true;
        for child in self.children.values() {
            if let Some(addr) = &child.addr {
                addr.do_send(StopChild);
            }
        }
        Running::Stop
    }
}

impl<A: SupervisedActor> Handler<StartChild<A>> for Supervisor<A> {
    type Result = ();

    fn handle(&mut self, msg: StartChild<A>, ctx: &mut Context<Self>) {
        let previous = self.children.insert(
            msg.name.clone(),
            Child {
                spec: msg.spec,
                addr: None,
                generation: 0,
                started_at: Instant::now(),
                failures_in_row: 0,
                restarts: 0,
                restart_requested: false,
            },
        );
        if let Some(addr) = previous.and_then(|c| c.addr) {
            addr.do_send(StopChild);
        }
        self.spawn_child(&msg.name, ctx);
    }
}

impl<A: SupervisedActor> Handler<ChildExited> for Supervisor<A> {
    type Result = ();

    fn handle(&mut self, msg: ChildExited, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        let Some(child) = self.children.get_mut(&msg.name) else {
            return;
        };
        if child.generation != msg.generation {
            return; // an older incarnation, already replaced
        }
        child.addr = None;
        child.restarts += 1;
        self.metrics
            .actor_restarted(&format!("{}:{}", A::KIND, msg.name));
        if std::mem::take(&mut child.restart_requested) {
            tracing::info!(actor = A::KIND, name = %msg.name, "restarting on request");
            child.failures_in_row = 0;
            self.spawn_child(&msg.name, ctx);
            return;
        }
        if child.started_at.elapsed() >= HEALTHY_AFTER {
            child.failures_in_row = 0;
        }
        child.failures_in_row += 1;
        let failures_in_row = child.failures_in_row;
        let delay = self.backoff(failures_in_row);
        let how = if msg.orderly { "stopped" } else { "crashed" };
        tracing::error!(
            actor = A::KIND,
            name = %msg.name,
            how,
            restart_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "actor failed; restarting"
        );
        let name = msg.name;
        let generation = msg.generation;
        ctx.run_later(delay, move |this, ctx| {
            // Only if nothing replaced the child meanwhile.
            let still_down = this
                .children
                .get(&name)
                .is_some_and(|c| c.generation == generation && c.addr.is_none());
            if still_down {
                this.spawn_child(&name, ctx);
            }
        });
    }
}

impl<A, M> Handler<ToChild<M>> for Supervisor<A>
where
    A: SupervisedActor + Handler<M>,
    A::Context: actix::dev::ToEnvelope<A, M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    type Result = ResponseFuture<Result<M::Result, SupervisionError>>;

    fn handle(&mut self, msg: ToChild<M>, _ctx: &mut Context<Self>) -> Self::Result {
        let name = msg.name;
        let addr = match self.children.get(&name) {
            None => {
                return Box::pin(async move {
                    Err(SupervisionError::UnknownChild {
                        kind: A::KIND,
                        name,
                    })
                })
            }
            Some(child) => child.addr.clone(),
        };
        Box::pin(async move {
            let unavailable = |name| SupervisionError::Unavailable {
                kind: A::KIND,
                name,
            };
            match addr {
                None => Err(unavailable(name)),
                Some(addr) => addr.send(msg.msg).await.map_err(|_| unavailable(name)),
            }
        })
    }
}

impl<A, M> Handler<Broadcast<M>> for Supervisor<A>
where
    A: SupervisedActor + Handler<M>,
    A::Context: actix::dev::ToEnvelope<A, M>,
    M: Message + Clone + Send + 'static,
    M::Result: Send,
{
    type Result = ();

    fn handle(&mut self, msg: Broadcast<M>, _ctx: &mut Context<Self>) {
        for child in self.children.values() {
            if let Some(addr) = &child.addr {
                addr.do_send(msg.0.clone());
            }
        }
    }
}

impl<A: SupervisedActor> Handler<RestartChild> for Supervisor<A> {
    type Result = Result<(), SupervisionError>;

    fn handle(&mut self, msg: RestartChild, ctx: &mut Context<Self>) -> Self::Result {
        let Some(child) = self.children.get_mut(&msg.0) else {
            return Err(SupervisionError::UnknownChild {
                kind: A::KIND,
                name: msg.0,
            });
        };
        match &child.addr {
            Some(addr) => {
                child.restart_requested = true;
                addr.do_send(StopChild);
            }
            // Down and waiting for its backoff: start it now.
            None => {
                child.restarts += 1;
                self.metrics
                    .actor_restarted(&format!("{}:{}", A::KIND, msg.0));
                self.spawn_child(&msg.0, ctx);
            }
        }
        Ok(())
    }
}

impl<A: SupervisedActor> Handler<StopAll> for Supervisor<A> {
    type Result = ();

    fn handle(&mut self, _: StopAll, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl<A: SupervisedActor> Handler<ListChildren> for Supervisor<A> {
    type Result = Vec<ChildStatus>;

    fn handle(&mut self, _: ListChildren, _: &mut Context<Self>) -> Self::Result {
        self.children
            .iter()
            .map(|(name, c)| ChildStatus {
                name: name.clone(),
                running: c.addr.as_ref().is_some_and(|a| a.connected()),
                restarts: c.restarts,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child that counts the pings it answers and panics on request.
    struct Pinger {
        guard: ChildGuard,
        answered: u32,
    }

    impl Actor for Pinger {
        type Context = Context<Self>;
        fn stopped(&mut self, _: &mut Context<Self>) {
            self.guard.mark_stopped();
        }
    }

    impl SupervisedActor for Pinger {
        type Spec = ();
        const KIND: &'static str = "pinger";
        fn build(_: &(), guard: ChildGuard) -> Self {
            Pinger { guard, answered: 0 }
        }
    }

    impl Handler<StopChild> for Pinger {
        type Result = ();
        fn handle(&mut self, _: StopChild, ctx: &mut Context<Self>) {
            ctx.stop();
        }
    }

    #[derive(Message, Clone)]
    #[rtype(result = "u32")]
    struct Ping;

    impl Handler<Ping> for Pinger {
        type Result = u32;
        fn handle(&mut self, _: Ping, _: &mut Context<Self>) -> u32 {
            self.answered += 1;
            self.answered
        }
    }

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Explode;

    impl Handler<Explode> for Pinger {
        type Result = ();
        fn handle(&mut self, _: Explode, _: &mut Context<Self>) {
            panic!("injected failure");
        }
    }

    async fn ping(sup: &Addr<Supervisor<Pinger>>, name: &str) -> Result<u32, SupervisionError> {
        sup.send(ToChild {
            name: name.into(),
            msg: Ping,
        })
        .await
        .expect("supervisor alive")
    }

    /// Waits until the named child answers again (restart is asynchronous).
    async fn until_up(sup: &Addr<Supervisor<Pinger>>, name: &str) -> u32 {
        for _ in 0..200 {
            if let Ok(n) = ping(sup, name).await {
                return n;
            }
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{name} never came back");
    }

    #[actix_rt::test]
    async fn panicking_child_is_restarted_alone_and_counted() {
        let metrics = Metrics::new();
        let sup = Supervisor::<Pinger>::new(metrics.clone())
            .with_backoff(Duration::from_millis(5), Duration::from_millis(50))
            .start();
        for name in ["a", "b"] {
            sup.send(StartChild::<Pinger> {
                name: name.into(),
                spec: (),
            })
            .await
            .unwrap();
        }
        assert_eq!(ping(&sup, "a").await, Ok(1));
        assert_eq!(ping(&sup, "b").await, Ok(1));

        let crashed = sup
            .send(ToChild {
                name: "a".into(),
                msg: Explode,
            })
            .await
            .unwrap();
        assert!(matches!(crashed, Err(SupervisionError::Unavailable { .. })));

        // b never noticed; a comes back with fresh state.
        assert_eq!(ping(&sup, "b").await, Ok(2));
        assert_eq!(until_up(&sup, "a").await, 1);
        let text = metrics.render();
        assert!(
            text.contains(r#"commons_actor_restarts_total{actor="pinger:a"} 1"#),
            "{text}"
        );
        assert!(!text.contains(r#"actor="pinger:b""#));
    }

    #[actix_rt::test]
    async fn restart_on_request_touches_only_that_child() {
        let sup = Supervisor::<Pinger>::new(Metrics::new()).start();
        for name in ["a", "b"] {
            sup.send(StartChild::<Pinger> {
                name: name.into(),
                spec: (),
            })
            .await
            .unwrap();
        }
        ping(&sup, "a").await.unwrap();
        ping(&sup, "b").await.unwrap();
        sup.send(RestartChild("a".into())).await.unwrap().unwrap();
        assert_eq!(until_up(&sup, "a").await, 1);
        assert_eq!(ping(&sup, "b").await, Ok(2));
        let list = sup.send(ListChildren).await.unwrap();
        assert_eq!(list[0].restarts, 1);
        assert_eq!(list[1].restarts, 0);
        assert_eq!(
            sup.send(RestartChild("zz".into())).await.unwrap(),
            Err(SupervisionError::UnknownChild {
                kind: "pinger",
                name: "zz".into()
            })
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let sup = Supervisor::<Pinger>::new(Metrics::new())
            .with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(sup.backoff(1), Duration::from_millis(100));
        assert_eq!(sup.backoff(2), Duration::from_millis(200));
        assert_eq!(sup.backoff(4), Duration::from_millis(800));
        assert_eq!(sup.backoff(5), Duration::from_secs(1));
        assert_eq!(sup.backoff(40), Duration::from_secs(1));
    }
}
