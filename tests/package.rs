//! The Debian package: built by `scripts/package.sh` (from this test's own
//! build of the binary, so no release build is needed), then read back
//! with `dpkg-deb`: its metadata, its files, its conffile, the systemd
//! unit's hardening (checked by `systemd-analyze` when it is there) and the
//! packaged configuration.

use std::path::{Path, PathBuf};
use std::process::Command;

fn output(command: &mut Command) -> String {
    let result = command.output().expect("command runs");
    assert!(
        result.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    String::from_utf8_lossy(&result.stdout).into_owned()
}

fn build(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let printed = output(
        Command::new(root.join("scripts/package.sh"))
            .args(["--binary", env!("CARGO_BIN_EXE_xivo-confd"), "--output"])
            .arg(dir),
    );
    let deb = PathBuf::from(printed.trim());
    assert!(deb.is_file(), "no package at {}", deb.display());
    deb
}

#[test]
fn the_package_holds_the_service_its_configuration_and_its_hardening() {
    let dir = std::env::temp_dir().join(format!("xivo-package-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("dir");
    let deb = build(&dir);
    let name = deb.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(name.starts_with(&format!("xivo-confd_{}_", env!("CARGO_PKG_VERSION"))));

    let info = output(Command::new("dpkg-deb").arg("-I").arg(&deb));
    for line in [
        "Package: xivo-confd",
        &format!("Version: {}", env!("CARGO_PKG_VERSION")),
        "Architecture: ",
        "Maintainer: ",
        "Description: ",
    ] {
        assert!(info.contains(line), "control lacks {line:?}:\n{info}");
    }
    let depends = info
        .lines()
        .find(|l| l.trim_start().starts_with("Depends:"))
        .expect("Depends");
    assert!(
        depends.contains("libssl3") && depends.contains("libc6"),
        "{depends}"
    );
    for script in ["postinst", "prerm", "postrm", "conffiles"] {
        assert!(info.contains(script), "no {script}:\n{info}");
    }
    let package = output(
        Command::new("dpkg-deb")
            .args(["-f"])
            .arg(&deb)
            .arg("Package"),
    );
    assert_eq!(package.trim(), "xivo-confd");

    let listing = output(Command::new("dpkg-deb").arg("-c").arg(&deb));
    let entry = |path: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" .{path}")))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"))
            .to_string()
    };
    assert!(entry("/usr/bin/xivo-confd").starts_with("-rwxr-xr-x root/root"));
    assert!(entry("/etc/xivo-confd/config.toml").starts_with("-rw-r----- root/root"));
    for path in [
        "/lib/systemd/system/xivo-confd.service",
        "/usr/lib/sysusers.d/xivo-confd.conf",
        "/usr/share/doc/xivo-confd/copyright",
        "/usr/share/doc/xivo-confd/README.md",
        "/usr/share/doc/xivo-confd/examples/litestream.yml",
    ] {
        entry(path);
    }
    assert!(
        !listing.contains("./var/"),
        "the data folder is the service's StateDirectory, not a packaged file"
    );

    let tree = dir.join("tree");
    output(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree));
    let control = dir.join("control");
    output(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    assert_eq!(
        std::fs::read_to_string(control.join("conffiles")).expect("conffiles"),
        "/etc/xivo-confd/config.toml\n"
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).expect("postinst");
    assert!(postinst.contains("systemd-sysusers") && postinst.contains("adduser --system"));
    for script in ["postinst", "prerm", "postrm"] {
        // each maintainer script at least parses
        output(Command::new("sh").arg("-n").arg(control.join(script)));
    }

    // the unit: its own user, restarted on failure, hardened
    let unit_path = tree.join("lib/systemd/system/xivo-confd.service");
    let unit = std::fs::read_to_string(&unit_path).expect("unit");
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    for line in [
        "User=xivo-confd",
        "Group=xivo-confd",
        "ExecStart=/usr/bin/xivo-confd --config /etc/xivo-confd/config.toml serve",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/xivo-confd",
        "StateDirectory=xivo-confd",
        // no capability at all: the ports are above 1024
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
    ] {
        assert!(lines.contains(&line), "the unit lacks {line:?}:\n{unit}");
    }
    let writable: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("ReadWritePaths="))
        .collect();
    assert_eq!(writable.len(), 1, "only the data folder is writable");
    // nothing that would log to a file the read-only system refuses
    assert!(!unit.contains("StandardOutput=file"));

    // the packaged configuration: the data under /var/lib, every key the
    // program reads; on this machine only the missing folder may differ
    let config = tree.join("etc/xivo-confd/config.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(text.contains("path = \"/var/lib/xivo-confd/xivo.db\""));
    let checked = Command::new(env!("CARGO_BIN_EXE_xivo-confd"))
        .arg("check-config")
        .arg(&config)
        .output()
        .expect("check-config");
    let problems = String::from_utf8_lossy(&checked.stderr);
    if Path::new("/var/lib/xivo-confd").is_dir() {
        assert!(checked.status.success(), "{problems}");
    } else {
        let reported: Vec<&str> = problems
            .lines()
            .filter(|l| l.contains("config.toml: ["))
            .collect();
        assert_eq!(reported.len(), 1, "{problems}");
        assert!(reported[0].contains("[database] path: the folder /var/lib/xivo-confd"));
    }

    // systemd's own checks, where systemd's tools are installed
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok()
    {
        // verify reads the binaries the unit names: point it at the tree's
        let binary = tree.join("usr/bin/xivo-confd");
        let checkable = dir.join("verify/xivo-confd.service");
        std::fs::create_dir_all(checkable.parent().expect("parent")).expect("dir");
        std::fs::write(
            &checkable,
            unit.replace("/usr/bin/xivo-confd", binary.to_str().expect("utf8")),
        )
        .expect("unit copy");
        let verified = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&checkable)
            .output()
            .expect("verify");
        let complaints = String::from_utf8_lossy(&verified.stderr);
        assert!(verified.status.success(), "{complaints}");
        assert!(
            complaints.trim().is_empty(),
            "systemd-analyze verify complains:\n{complaints}"
        );
        let security = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(format!("--root={}", tree.display()))
            .arg("xivo-confd.service")
            .output()
            .expect("security");
        let report = String::from_utf8_lossy(&security.stdout);
        let level: f64 = report
            .lines()
            .find_map(|l| l.split_once("Overall exposure level for xivo-confd.service: "))
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level:\n{report}"));
        // systemd rates 0-10; below 2 is its "OK"
        assert!(level < 2.0, "exposure {level}:\n{report}");
    } else {
        eprintln!("systemd-analyze is not installed: the unit's own checks are skipped");
    }
    std::fs::remove_dir_all(&dir).ok();
}
