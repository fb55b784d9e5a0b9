import { strict as assert } from "assert";
import { extraDockerdArg } from "../components/dockerdFlags";

describe("extra dockerd flags, read as dockerd's flag parser reads them", () => {
    const accepted = ["--log-level=warn", "-D", "-Dlwarn", "-l=debug", "--label=team=ci", "--iptables=false", "--default-network-opt=bridge=com.docker.network.bridge.enable_icc=false", "--debug"];
    for (const flag of accepted) {
        it(`accepts ${flag}`, () => {
            assert.equal(extraDockerdArg(flag, "args.extraDockerdArgs[0]"), flag);
        });
    }

    const refused: [string, RegExp][] = [
        ["-DHtcp://0.0.0.0:2375", /expected a flag other than --host; use the transport argument/],
        ["-H=tcp://0.0.0.0:2375", /other than --host/],
        ["-Htcp://0.0.0.0:2375", /other than --host/],
        ["--host=unix:///tmp/x.sock", /other than --host/],
        ["--tls=false", /other than --tls;/],
        ["--tlsverify=false", /other than --tlsverify;/],
        ["--data-root=/srv/docker", /other than --data-root; use nothing: \/var\/lib\/docker/],
        ["--exec-root=/tmp/exec", /other than --exec-root/],
        ["-p=/run/other.pid", /other than --pidfile; use nothing: the image.s entrypoint clears a stale pid file only at the default path/],
        ["--mtu=1400", /other than --mtu; use the mtu argument/],
        ["--registry-mirror=http://mirror:5000", /other than --registry-mirror; use the registryMirrors argument/],
        ["--insecure-registry=0.0.0.0/0", /other than --insecure-registry; use registries\[\]\.insecure/],
        ["--config-file=/etc/evil.json", /other than --config-file/],
        ["-v", /other than --version; use a flag that lets dockerd run/],
        ["--default-network-opt=bridge=com.docker.network.driver.mtu=9000", /the default network's MTU; use the mtu argument/],
        ["-x", /expected one-letter flags dockerd knows .*; -x is none/],
        ["-host=tcp://0.0.0.0:2375", /-o is none/],
        ["-l", /expected -l with its value in the same argument/],
        ["tcp://0.0.0.0:2375", /expected a dockerd flag such as --log-level=warn \(dockerd takes no other arguments\)/],
        ["--", /dockerd takes no other arguments/],
    ];
    for (const [flag, message] of refused) {
        it(`refuses ${flag}, naming the argument`, () => {
            assert.throws(() => extraDockerdArg(flag, "args.extraDockerdArgs[2]"), (error: Error) => {
                assert.match(error.message, /^args\.extraDockerdArgs\[2\]: /);
                assert.match(error.message, message);
                return true;
            });
        });
    }

    it("refuses what is no string", () => {
        assert.throws(() => extraDockerdArg(42, "args.extraDockerdArgs[0]"), /^InvalidArgumentError: args\.extraDockerdArgs\[0\]: expected a dockerd flag/);
    });
});
