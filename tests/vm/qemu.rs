//! Booting the guest under QEMU: accelerator choice, the command line, the QMP monitor.
//!
//! The NICs sit on QEMU hub 0 and nothing else: only `hubport` netdevs, never `user` or `tap`,
//! so no frame can leave QEMU. Every NIC's netdev has a `filter-dump` that writes its pcap.

use serde_json::{Value, json};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pcap::Mac;

/// Guest vCPUs and memory: the shared 2-core host gets no more than this.
pub const SMP: u32 = 2;
pub const MEM_MIB: u32 = 1280;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

/// KVM only when a standard KVM module (kvm_intel or kvm_amd) drives /dev/kvm. PVM's /dev/kvm
/// (kvm_pvm) accepts QEMU but does not boot stock kernels, so it means TCG.
/// `MACSPOOF_VM_ACCEL=kvm|tcg` overrides.
pub fn pick_accel() -> Accel {
    match std::env::var("MACSPOOF_VM_ACCEL").as_deref() {
        Ok("kvm") => return Accel::Kvm,
        Ok("tcg") => return Accel::Tcg,
        _ => {}
    }
    let loaded = |m: &str| Path::new("/sys/module").join(m).exists();
    let standard = loaded("kvm_intel") || loaded("kvm_amd");
    let usable = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if standard && usable && !loaded("kvm_pvm") {
        Accel::Kvm
    } else {
        Accel::Tcg
    }
}

#[derive(Debug, Clone)]
pub struct Nic {
    /// Also the netdev/filter/device id stem and the pcap's name: nic0, nic1, ...
    pub id: String,
    /// QEMU device model: e1000, virtio-net-pci, rtl8139, ...
    pub model: &'static str,
    /// The address the guest's kernel reports as permanent (QEMU's `mac=`).
    pub permanent: Mac,
    pub pcap: PathBuf,
}

impl Nic {
    pub fn new(dir: &Path, index: usize, model: &'static str, permanent: Mac) -> Nic {
        let id = format!("nic{index}");
        Nic {
            pcap: dir.join(format!("{id}.pcap")),
            id,
            model,
            permanent,
        }
    }
}

pub struct Boot<'a> {
    pub image: &'a Path,
    pub dir: &'a Path,
    pub cmdline: String,
    pub nics: &'a [Nic],
    pub accel: Accel,
}

pub struct Vm {
    child: Child,
    pub console: PathBuf,
    pub qmp: PathBuf,
    pub results_disk: PathBuf,
}

impl Boot<'_> {
    pub fn start(&self) -> Result<Vm, String> {
        let console = self.dir.join("console.log");
        let qmp = self.dir.join("qmp.sock");
        let results_disk = self.dir.join("results.img");
        let _ = fs::remove_file(&qmp);
        // Sparse: the guest writes a tar stream from offset 0.
        fs::File::create(&results_disk)
            .and_then(|f| f.set_len(256 << 20))
            .map_err(|e| format!("results disk: {e}"))?;
        let mut c = Command::new("qemu-system-x86_64");
        c.args([
            "-machine",
            "pc",
            "-nodefaults",
            "-no-reboot",
            "-display",
            "none",
        ]);
        match self.accel {
            Accel::Kvm => c.args(["-accel", "kvm", "-cpu", "host,-arch-capabilities"]),
            Accel::Tcg => c.args(["-accel", "tcg,thread=multi", "-cpu", "max"]),
        };
        c.args(["-smp", &SMP.to_string(), "-m", &MEM_MIB.to_string()]);
        c.arg("-kernel").arg(self.image.join("vmlinuz"));
        c.arg("-initrd").arg(self.image.join("initrd.img"));
        c.args(["-append", &self.cmdline]);
        // Throwaway root: every boot starts from the same image, which never changes.
        c.arg("-drive").arg(format!(
            "file={},if=virtio,format=raw,snapshot=on",
            self.image.join("rootfs.img").display()
        ));
        c.arg("-drive").arg(format!(
            "file={},if=virtio,format=raw",
            results_disk.display()
        ));
        c.arg("-serial").arg(format!("file:{}", console.display()));
        c.arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", qmp.display()));
        for nic in self.nics {
            c.args(nic_args(nic));
        }
        c.stdin(Stdio::null());
        let log = fs::File::create(self.dir.join("qemu.log")).map_err(|e| e.to_string())?;
        c.stdout(log.try_clone().map_err(|e| e.to_string())?);
        c.stderr(log);
        fs::write(self.dir.join("qemu-command.txt"), format!("{c:?}\n")).ok();
        let child = c.spawn().map_err(|e| format!("qemu-system-x86_64: {e}"))?;
        Ok(Vm {
            child,
            console,
            qmp,
            results_disk,
        })
    }
}

fn nic_args(nic: &Nic) -> Vec<String> {
    vec![
        "-netdev".into(),
        format!("hubport,id={}-net,hubid=0", nic.id),
        "-object".into(),
        format!(
            "filter-dump,id={}-dump,netdev={}-net,file={}",
            nic.id,
            nic.id,
            nic.pcap.display()
        ),
        "-device".into(),
        format!(
            "{},id={},netdev={}-net,mac={}",
            nic.model, nic.id, nic.id, nic.permanent
        ),
    ]
}

impl Vm {
    /// Waits for QEMU to exit (the guest powers itself off); kills it at the deadline.
    pub fn wait(&mut self, timeout: Duration) -> Result<(), String> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().map_err(|e| e.to_string())? {
                return if st.success() {
                    Ok(())
                } else {
                    Err(format!("qemu exited with {st}"))
                };
            }
            if Instant::now() >= end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!("guest still running after {timeout:?}; killed"));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Waits for `marker` on the serial console; false at the deadline or when QEMU exited.
    pub fn wait_console(&mut self, marker: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if fs::read(&self.console)
                .map(|b| String::from_utf8_lossy(&b).contains(marker))
                .unwrap_or(false)
            {
                return true;
            }
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        false
    }

    /// Hot-plugs a NIC through QMP: its own hubport netdev and filter-dump, then the device.
    pub fn hotplug(&self, nic: &Nic) -> Result<(), String> {
        let mut q = Qmp::connect(&self.qmp)?;
        q.execute(
            "netdev_add",
            json!({"type": "hubport", "id": format!("{}-net", nic.id), "hubid": 0}),
        )?;
        q.execute(
            "object-add",
            json!({
                "qom-type": "filter-dump",
                "id": format!("{}-dump", nic.id),
                "netdev": format!("{}-net", nic.id),
                "file": nic.pcap.to_string_lossy(),
            }),
        )?;
        q.execute(
            "device_add",
            json!({
                "driver": nic.model,
                "id": nic.id,
                "netdev": format!("{}-net", nic.id),
                "mac": nic.permanent.to_string(),
            }),
        )?;
        Ok(())
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A minimal QMP client: one command at a time, events skipped.
struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    fn connect(path: &Path) -> Result<Qmp, String> {
        let s = UnixStream::connect(path).map_err(|e| format!("QMP {}: {e}", path.display()))?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        let writer = s.try_clone().map_err(|e| e.to_string())?;
        let mut q = Qmp {
            reader: BufReader::new(s),
            writer,
        };
        let greeting = q.read()?;
        if greeting.get("QMP").is_none() {
            return Err(format!("unexpected QMP greeting {greeting}"));
        }
        q.execute("qmp_capabilities", json!({}))?;
        Ok(q)
    }

    fn read(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .map_err(|e| format!("QMP read: {e}"))?;
        serde_json::from_str(&line).map_err(|e| format!("QMP reply {line:?}: {e}"))
    }

    fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, String> {
        let msg = json!({"execute": command, "arguments": arguments});
        writeln!(self.writer, "{msg}").map_err(|e| format!("QMP write: {e}"))?;
        loop {
            let v = self.read()?;
            if v.get("event").is_some() {
                continue;
            }
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            return Err(format!("QMP {command}: {v}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nics_are_hub_ports_with_a_dump_and_nothing_else() {
        let nic = Nic::new(
            Path::new("/r"),
            1,
            "virtio-net-pci",
            Mac([0, 0x16, 0x3e, 1, 2, 3]),
        );
        let a = nic_args(&nic).join(" ");
        assert_eq!(
            a,
            "-netdev hubport,id=nic1-net,hubid=0 \
             -object filter-dump,id=nic1-dump,netdev=nic1-net,file=/r/nic1.pcap \
             -device virtio-net-pci,id=nic1,netdev=nic1-net,mac=00:16:3e:01:02:03"
        );
        assert!(!a.contains("user") && !a.contains("tap") && !a.contains("bridge"));
    }
}
