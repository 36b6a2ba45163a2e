// Copyright (c) 2022-2023 Yuki Kishimoto
// Copyright (c) 2023-2025 Rust Nostr Developers
// Distributed under the MIT software license

//! Constants

/// Relay Pool default notification channel size
pub const DEFAULT_NOTIFICATION_CHANNEL_SIZE: usize = 4096;
