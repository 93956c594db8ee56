# The recipes of docs/shards.md, run: docs/parallel-shards.sh on GNU parallel's local host `:` (three slices at once)
# and over ssh to two "hosts" served by an sshd on 127.0.0.1; docs/slurm-shards.sh as array tasks (no cluster here).
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from hostrun import SMALL, SOURCE, env, keys, meta, pyalloc, rows, run_dir

PARALLEL_SCRIPT = os.path.join(SOURCE, "docs", "parallel-shards.sh")
SLURM_SCRIPT = os.path.join(SOURCE, "docs", "slurm-shards.sh")
PLAN = 5 * 2 * 2  # SMALL: cases x configurations x rounds
NO_PARALLEL = "GNU parallel is not installed (scripts/setup.sh installs it: Debian package `parallel`)"


def logical_lines(path):
    """A shell file's lines with backslash continuations joined and indentation squeezed."""
    with open(path) as f:
        return [" ".join(ln.split()) for ln in re.sub(r"\\\n\s*", " ", f.read()).splitlines()]


class Recipes(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pab-recipes-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def parallel(self, hosts, **extra):
        """Runs the GNU parallel recipe with 3 slices of SMALL; returns the merged run, checked and reported."""
        p = subprocess.run([PARALLEL_SCRIPT, hosts, "3", "31"] + SMALL, capture_output=True, text=True, timeout=180,
                           env=env(PAB_SHARDS_DIR=os.path.join(self.tmp, "shards"),
                                   PAB_RESULTS=os.path.join(self.tmp, "results"), **extra))
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        merged = p.stdout.strip().splitlines()[-1]
        self.assertEqual(len(set(keys(merged))), PLAN)
        self.assertEqual({r["status"] for r in rows(merged)}, {"ok"})
        self.assertEqual({r["shard"] for r in rows(merged)}, {"1/3", "2/3", "3/3"})
        self.assertTrue(meta(merged)["complete"])
        rep = pyalloc("report", merged, "--no-charts")
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertTrue(os.path.exists(os.path.join(merged, "report.md")))
        self.assertIn("jemalloc", rep.stdout)
        return merged

    @unittest.skipUnless(shutil.which("parallel"), NO_PARALLEL)
    def test_parallel_on_this_machine(self):
        merged = self.parallel(":", PAB_JOBS_PER_HOST="3")
        self.assertEqual(sorted(p["shard"] for p in meta(merged)["parts"]), ["1/3", "2/3", "3/3"])

    @unittest.skipUnless(shutil.which("parallel") and shutil.which("rsync"), NO_PARALLEL + " or rsync is missing")
    @unittest.skipUnless(os.path.exists("/usr/sbin/sshd") and shutil.which("ssh-keygen"),
                         "no sshd: install openssh-server (scripts/setup.sh does) to run the recipe over ssh; "
                         "the recipe still runs on `:` above")
    def test_parallel_over_ssh(self):
        """Two host names, both 127.0.0.1 through an ssh config, served by an sshd this test starts and stops:
        the remote command line, its quoting and --return's rsync are what real hosts get."""
        cfg = self.sshd()
        merged = self.parallel("pab-host-a,pab-host-b", PARALLEL_SSH=f"ssh -F {cfg}")
        with open(os.path.join(self.tmp, "sshd.log")) as f:
            self.assertGreaterEqual(f.read().count("Accepted publickey"), 3)  # every slice went through ssh
        self.assertEqual(len(meta(merged)["parts"]), 3)

    def sshd(self):
        t = self.tmp
        for key in ("hostkey", "userkey"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(t, key)], check=True)
        shutil.copy(os.path.join(t, "userkey.pub"), os.path.join(t, "authorized_keys"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with open(os.path.join(t, "sshd_config"), "w") as f:
            f.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {t}/hostkey\nAuthorizedKeysFile {t}/authorized_keys\n"
                    f"PidFile {t}/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n")
        cfg = os.path.join(t, "ssh_config")
        with open(cfg, "w") as f:
            f.write(f"Host pab-host-a pab-host-b\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile {t}/userkey\n"
                    "  IdentitiesOnly yes\n  BatchMode yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
                    "  LogLevel ERROR\n")
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory, as its service makes it
        log = open(os.path.join(t, "sshd.log"), "w")
        self.addCleanup(log.close)
        d = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", os.path.join(t, "sshd_config")], stderr=log,
                             stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (d.send_signal(signal.SIGTERM), d.wait(10)))
        for _ in range(100):
            if subprocess.run(["ssh", "-F", cfg, "pab-host-a", "true"], capture_output=True).returncode == 0:
                return cfg
            if d.poll() is not None:
                break
            time.sleep(0.1)
        with open(os.path.join(t, "sshd.log")) as f:
            self.skipTest(f"the test's sshd would not serve: {f.read().strip()[-300:]}")

    def test_docs_show_the_scripts_command_line(self):
        doc = logical_lines(os.path.join(SOURCE, "docs", "shards.md"))
        core = [ln for ln in logical_lines(PARALLEL_SCRIPT) if ln.startswith("parallel ")]
        self.assertEqual(len(core), 1)
        self.assertIn(core[0], doc)

    def test_slurm_array(self):
        """No Slurm cluster here: the script's syntax is checked with bash -n and its body run as three array tasks
        of `sbatch --array=0-2` would run it (#SBATCH lines are comments to bash), then merged and reported."""
        self.assertEqual(subprocess.run(["bash", "-n", SLURM_SCRIPT]).returncode, 0)
        shards = os.path.join(self.tmp, "shards")
        for task in (0, 1, 2):
            p = subprocess.run([SLURM_SCRIPT, "31"] + SMALL, capture_output=True, text=True, timeout=120, cwd=self.tmp,
                               env=env(SLURM_ARRAY_TASK_ID=str(task), SLURM_ARRAY_TASK_MIN="0",
                                       SLURM_ARRAY_TASK_COUNT="3", SLURM_SUBMIT_DIR=SOURCE,
                                       SLURM_JOB_PARTITION="compute", PAB_SHARDS_DIR=shards))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(f"shard {task + 1}/3", p.stderr)
        merged = run_dir(self, "merge", *(os.path.join(shards, str(i), "latest") for i in (1, 2, 3)),
                         "--out", os.path.join(self.tmp, "results"))
        self.assertEqual(len(set(keys(merged))), PLAN)
        self.assertEqual(meta(merged)["hosts"], ["compute"])
        self.assertEqual(pyalloc("report", merged, "--no-charts").returncode, 0)
        p = subprocess.run([SLURM_SCRIPT, "31"], capture_output=True, text=True, env=env(SLURM_ARRAY_TASK_ID=""))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not a Slurm array task", p.stderr)


if __name__ == "__main__":
    unittest.main()
