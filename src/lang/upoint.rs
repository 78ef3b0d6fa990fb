// SPDX-License-Identifier: GPL-2.0

//! User-space probe points, as the control files write them:
//!
//! ```text
//! PID:0xADDR            a virtual address in process PID
//! PID:PATH:0xOFF        file offset OFF of PATH, as mapped into PID
//! ```
//!
//! Pure `no_std` parsing, shared with the host tests.

/// A parsed user probe point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UTarget<'a> {
    /// `PID:0xADDR`.
    Addr {
        /// The process.
        pid: u32,
        /// Virtual address.
        addr: u64,
    },
    /// `PID:PATH:0xOFF`.
    File {
        /// The process.
        pid: u32,
        /// Absolute path of the mapped file.
        path: &'a str,
        /// Offset in the file.
        offset: u64,
    },
}

/// Why a user probe point is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UTargetError {
    /// `PID` is not a positive decimal number.
    BadPid,
    /// The address or offset is not a `0x` hexadecimal number.
    BadOffset,
    /// `PATH` is not absolute.
    BadPath,
}

impl UTargetError {
    /// A readable reason.
    pub const fn message(self) -> &'static str {
        match self {
            UTargetError::BadPid => "PID must be a positive decimal number",
            UTargetError::BadOffset => "address/offset must be a 0x-prefixed hex number",
            UTargetError::BadPath => "PATH must be absolute",
        }
    }
}

fn hex(s: &str) -> Result<u64, UTargetError> {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or(UTargetError::BadOffset)?;
    if h.is_empty() || h.len() > 16 {
        return Err(UTargetError::BadOffset);
    }
    u64::from_str_radix(h, 16).map_err(|_| UTargetError::BadOffset)
}

/// Parses `PID:0xADDR` or `PID:PATH:0xOFF`.
pub fn parse(s: &str) -> Result<UTarget<'_>, UTargetError> {
    let (pid, rest) = s.split_once(':').ok_or(UTargetError::BadPid)?;
    if pid.is_empty() || pid.len() > 10 || !pid.bytes().all(|c| c.is_ascii_digit()) {
        return Err(UTargetError::BadPid);
    }
    let pid: u32 = pid.parse().map_err(|_| UTargetError::BadPid)?;
    if pid == 0 {
        return Err(UTargetError::BadPid);
    }
    match rest.rsplit_once(':') {
        None => Ok(UTarget::Addr {
            pid,
            addr: hex(rest)?,
        }),
        Some((path, off)) => {
            if !path.starts_with('/') {
                return Err(UTargetError::BadPath);
            }
            Ok(UTarget::File {
                pid,
                path,
                offset: hex(off)?,
            })
        }
    }
}
