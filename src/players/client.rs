//! The former home of the players' interface, loops and narration, kept
//! as re-exports so that code written against `players::client` still
//! builds while the tree moves: use [`crate::players::api`],
//! [`crate::players::play`] and [`crate::players::narrate`] (and the HTTP
//! client at `crate::referee::client`).

pub use crate::players::api::{ClientError, RefereeApi};
pub use crate::players::narrate::{describe, describe_end, describe_record};
pub use crate::players::play::{
    ClaimEnd, Shared, SharedState, challenge_many, defend, play, play_from, play_with,
};
