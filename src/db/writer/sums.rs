//! Additions many writes make to the same rows (the dashboard's counters
//! are one kind, registered by `service::tally`): a write notes what it
//! adds; whoever commits writes the sums, just before `COMMIT`. The writer
//! knows them only through `Sums`: merged per batch on SQLite (a few
//! statements per batch, not per write), applied last in each transaction
//! on PostgreSQL.
use std::any::{Any, TypeId};

use sea_orm::{DbBackend, DbErr, Statement};

/// One kind of commit-time additions.
pub trait Sums: Any + Default + Clone + Send + Sync {
    /// Adds `other` (another write's additions) to these; fails on overflow,
    /// which fails the write that brought them.
    fn merge(&mut self, other: Self) -> Result<(), DbErr>;

    /// The statements that apply these additions.
    fn statements(&self, backend: DbBackend) -> Vec<Statement>;
}

/// `Sums` of any kind, behind one object type.
trait AnySums: Send + Sync {
    fn kind(&self) -> TypeId;
    fn merge_boxed(&mut self, other: Box<dyn AnySums>) -> Result<(), DbErr>;
    fn statements(&self, backend: DbBackend) -> Vec<Statement>;
    fn cloned(&self) -> Box<dyn AnySums>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<S: Sums> AnySums for S {
    fn kind(&self) -> TypeId {
        TypeId::of::<S>()
    }

    fn merge_boxed(&mut self, other: Box<dyn AnySums>) -> Result<(), DbErr> {
        let other = other
            .into_any()
            .downcast::<S>()
            .map_err(|_| DbErr::Custom("sums of another kind".into()))?;
        self.merge(*other)
    }

    fn statements(&self, backend: DbBackend) -> Vec<Statement> {
        Sums::statements(self, backend)
    }

    fn cloned(&self) -> Box<dyn AnySums> {
        Box::new(self.clone())
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// The additions of one write, or of a batch: one entry per kind.
#[derive(Default)]
pub(super) struct SumSet(Vec<Box<dyn AnySums>>);

impl Clone for SumSet {
    fn clone(&self) -> Self {
        SumSet(self.0.iter().map(|s| s.cloned()).collect())
    }
}

impl SumSet {
    /// The additions of kind `S`, empty at first.
    pub(super) fn of<S: Sums>(&mut self) -> &mut S {
        let at = match self.0.iter().position(|s| s.kind() == TypeId::of::<S>()) {
            Some(at) => at,
            None => {
                self.0.push(Box::new(S::default()));
                self.0.len() - 1
            }
        };
        self.0[at]
            .as_any_mut()
            .downcast_mut::<S>()
            .expect("an entry holds the kind it is found by")
    }

    pub(super) fn merge(&mut self, other: SumSet) -> Result<(), DbErr> {
        for o in other.0 {
            match self.0.iter_mut().find(|s| s.kind() == o.kind()) {
                Some(s) => s.merge_boxed(o)?,
                None => self.0.push(o),
            }
        }
        Ok(())
    }

    pub(super) fn statements(&self, backend: DbBackend) -> Vec<Statement> {
        self.0.iter().flat_map(|s| s.statements(backend)).collect()
    }
}
