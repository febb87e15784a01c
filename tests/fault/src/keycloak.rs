//! The suite's OWN Keycloak (started by tests/fault/run.sh into a `fault.*` run
//! directory): killed, frozen and restarted by the tests. Never the shared one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable run.sh sets to the suite's Keycloak run directory.
pub const RUN_DIR_VAR: &str = "CORTIAUTH_FAULT_RUN_DIR";

pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these scenarios need their own Keycloak, run tests/fault/run.sh")
    })
}

/// The suite's Keycloak, found through `CORTIAUTH_FAULT_RUN_DIR`.
pub struct Keycloak {
    run_dir: PathBuf,
}

impl Keycloak {
    /// Panics (loudly) unless run.sh started a private Keycloak for this suite.
    pub fn from_env() -> Keycloak {
        let run_dir = PathBuf::from(var(RUN_DIR_VAR));
        let name = run_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(
            name.starts_with("fault."),
            "{RUN_DIR_VAR}={} is not a fault.* run directory: the suite kills and freezes its \
             Keycloak, so it only ever uses the one tests/fault/run.sh started",
            run_dir.display()
        );
        assert!(
            run_dir.join("keycloak.pid").is_file(),
            "no keycloak.pid in {}",
            run_dir.display()
        );
        Keycloak { run_dir }
    }

    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// `http://127.0.0.1:<port>` of the running instance (changes at each restart).
    pub fn url(&self) -> String {
        let env = std::fs::read_to_string(self.run_dir.join("keycloak.env"))
            .expect("keycloak.env in the run directory");
        env.lines()
            .find_map(|l| l.strip_prefix("export CORTIAUTH_KEYCLOAK_URL="))
            .map(|v| v.trim_matches('\'').to_string())
            .expect("CORTIAUTH_KEYCLOAK_URL in keycloak.env")
    }

    /// The token URL of realm `base` (the path is the same after a restart).
    pub fn token_url(&self) -> String {
        format!("{}/realms/base/protocol/openid-connect/token", self.url())
    }

    /// The process group (kc.sh and java) of the running instance.
    pub fn pgid(&self) -> i32 {
        std::fs::read_to_string(self.run_dir.join("keycloak.pid"))
            .expect("keycloak.pid")
            .trim()
            .parse()
            .expect("a pid in keycloak.pid")
    }

    fn signal(&self, sig: i32) {
        let pgid = self.pgid();
        assert!(pgid > 1);
        // SAFETY: plain kill(2) on a process group this suite started.
        let rc = unsafe { libc::kill(-pgid, sig) };
        assert_eq!(
            rc,
            0,
            "kill(-{pgid}, {sig}): {}",
            std::io::Error::last_os_error()
        );
    }

    /// SIGKILL the whole group, and wait until it is gone (zombies reaped).
    pub fn kill(&self) {
        let pgid = self.pgid();
        self.signal(libc::SIGKILL);
        let t0 = Instant::now();
        // SAFETY: kill(2) with signal 0 only checks for existence.
        while unsafe { libc::kill(-pgid, 0) } == 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "Keycloak's group {pgid} still there 30 s after SIGKILL"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    /// Starts a new instance into the same run directory (a new port): run
    /// `wait` on the result; Keycloak answers once it returns.
    pub fn start(&self) -> Starting {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../servers/keycloak.sh");
        let child = Command::new(script)
            .arg("start")
            .arg(&self.run_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("run tests/servers/keycloak.sh start");
        Starting {
            child,
            started: Instant::now(),
        }
    }
}

pub struct Starting {
    child: Child,
    pub started: Instant,
}

impl Starting {
    /// Waits for keycloak.sh (it returns once realm `base` issues tokens).
    pub fn wait(mut self) -> Duration {
        let status = self.child.wait().expect("wait for keycloak.sh");
        assert!(status.success(), "keycloak.sh start failed: {status}");
        self.started.elapsed()
    }
}
