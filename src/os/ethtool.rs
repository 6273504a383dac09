//! ETHTOOL_GPERMADDR: the permanent address on kernels that send no IFLA_PERM_ADDRESS.

use crate::core::mac::Mac;

const ETHTOOL_GPERMADDR: u32 = 0x20;
const MAX_ADDR_LEN: usize = 32;

#[repr(C)]
struct PermAddr {
    cmd: u32,
    size: u32,
    data: [u8; MAX_ADDR_LEN],
}

#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    data: *mut PermAddr,
    _pad: [u8; 16],
}

/// The burned-in address, or `None` when the driver reports none (all zeros) or the ioctl fails.
pub fn permanent_address(name: &str) -> Option<Mac> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return None;
    }
    let mut perm = PermAddr {
        cmd: ETHTOOL_GPERMADDR,
        size: MAX_ADDR_LEN as u32,
        data: [0; MAX_ADDR_LEN],
    };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: &mut perm,
        _pad: [0; 16],
    };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: a plain datagram socket, closed below; the ioctl writes at most `size` bytes into
    // `perm`, which outlives the call.
    let ok = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return None;
        }
        let rc = libc::ioctl(fd, libc::SIOCETHTOOL, &mut req as *mut IfReq);
        libc::close(fd);
        rc == 0
    };
    if !ok || perm.size != 6 {
        return None;
    }
    Mac::from_slice(&perm.data[..6]).filter(|m| !m.is_zero())
}

const ETHTOOL_GDRVINFO: u32 = 0x03;

#[repr(C)]
struct DrvInfo {
    cmd: u32,
    driver: [u8; 32],
    version: [u8; 32],
    fw_version: [u8; 32],
    bus_info: [u8; 32],
    erom_version: [u8; 32],
    reserved2: [u8; 12],
    n_priv_flags: u32,
    n_stats: u32,
    testinfo_len: u32,
    eedump_len: u32,
    regdump_len: u32,
}

/// The driver name ethtool reports (`veth`, `bridge`, `tun`, `e1000`); it also covers virtual
/// interfaces, which have no `device/driver` link in sysfs.
pub fn driver(name: &str) -> Option<String> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return None;
    }
    // SAFETY: DrvInfo is plain data; all-zero is valid.
    let mut info: DrvInfo = unsafe { std::mem::zeroed() };
    info.cmd = ETHTOOL_GDRVINFO;
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: &mut info as *mut DrvInfo as *mut PermAddr,
        _pad: [0; 16],
    };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: as in permanent_address; the kernel writes one ethtool_drvinfo into `info`.
    let ok = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return None;
        }
        let rc = libc::ioctl(fd, libc::SIOCETHTOOL, &mut req as *mut IfReq);
        libc::close(fd);
        rc == 0
    };
    if !ok {
        return None;
    }
    let end = info.driver.iter().position(|&b| b == 0).unwrap_or(32);
    Some(String::from_utf8_lossy(&info.driver[..end]).into_owned()).filter(|s| !s.is_empty())
}
