import { strict as assert } from "assert";
import "./harness";
import { DEFAULT_HOST_SOCKETS, dockerHostPath, dockerNetworkName, hostDockerSockets, networkAttachments } from "../components/dockerHost";

/** The sockets of a rootless Docker beside the system one, as hostDockerSockets finds them. */
const SOCKETS = hostDockerSockets(["unix:///run/user/1000/docker.sock"]);

describe("the Docker host", () => {
    describe("host paths", () => {
        const mounted: [string, string][] = [
            ["/srv/dind", "/srv/dind"],
            ["/srv/dind/", "/srv/dind"],
            ["//srv//dind//", "/srv/dind"],
            ["/srv/./dind/.", "/srv/dind"],
            ["/srv/ci/../dind", "/srv/dind"],
            ["/../srv/dind", "/srv/dind"],
            ["/tmp", "/tmp"],
            ["/tmp/dind", "/tmp/dind"],
            ["/home/me/images", "/home/me/images"],
            ["/run/dind", "/run/dind"],
            ["/var/run/dind", "/var/run/dind"],
            ["/run/user/1000/dind", "/run/user/1000/dind"],
            ["/var/lib/ci", "/var/lib/ci"],
            ["/var/lib/dockerish", "/var/lib/dockerish"],
            ["/root/images", "/root/images"],
            ["/etcetera", "/etcetera"],
        ];
        for (const [given, normalised] of mounted) {
            it(`mounts ${JSON.stringify(given)} as ${normalised}`, () => {
                assert.equal(dockerHostPath(given, "args.socketDirectory", SOCKETS), normalised);
            });
        }

        const root = /not the host's root/;
        const system = /not a system directory/;
        const runtime = /not Docker's runtime directory/;
        const socket = /not a directory holding the host's own Docker socket/;
        const notAPath = /expected an absolute path of a directory on the Docker host/;
        const refused: [unknown, RegExp][] = [
            ["/", root],
            ["//", root],
            ["///", root],
            ["/.", root],
            ["/./", root],
            ["/..", root],
            ["/tmp/..", root],
            ["/srv/dind/../..", root],
            ["/etc", system],
            ["/etc/", system],
            ["/etc/docker", system],
            ["/srv/../etc/ssl", system],
            ["/usr", system],
            ["/usr/local/bin", system],
            ["/bin", system],
            ["/sbin", system],
            ["/lib", system],
            ["/lib32", system],
            ["/lib64", system],
            ["/libx32", system],
            ["/boot", system],
            ["/boot/efi", system],
            ["/dev", system],
            ["/dev/shm", system],
            ["/proc", system],
            ["/proc/1/root", system],
            ["/sys", system],
            ["/sys/fs/cgroup", system],
            ["/root", system],
            ["/var", system],
            ["/var/lib", system],
            ["/var/lib/docker", system],
            ["/var/lib/docker/volumes/data/_data", system],
            ["/var/lib/containerd", system],
            ["/run", system],
            ["/run/", system],
            ["/var/run", system],
            ["/run/containerd", system],
            ["/var/run/containerd/containerd.sock", system],
            ["/run/docker", runtime],
            ["/run/docker.sock", runtime],
            ["/var/run/docker.sock", runtime],
            ["/var/run/docker/netns", runtime],
            ["/run/docker-plugins", runtime],
            ["/run/user/1000", socket],
            ["/run/user/1000/", socket],
            ["/run/user", socket],
            ["/var/run/user/1000", socket],
            ["/run/user/1000/docker.sock", socket],
            ["relative/dir", notAPath],
            ["./dind", notAPath],
            ["~/dind", notAPath],
            ["", notAPath],
            ["/srv/dind\n", notAPath],
            ["/srv/\u0000dind", notAPath],
            [42, notAPath],
            [undefined, notAPath],
        ];
        for (const [given, reason] of refused) {
            it(`refuses ${JSON.stringify(given)}, naming the argument`, () => {
                assert.throws(() => dockerHostPath(given, "args.socketDirectory", SOCKETS), (error: Error) => {
                    assert.match(error.message, /^args\.socketDirectory: expected /);
                    assert.match(error.message, reason);
                    return true;
                });
            });
        }

        it("says what a path was read as when normalising changed it", () => {
            assert.throws(() => dockerHostPath("/srv/../etc", "args.client.outputDirectory", SOCKETS), {
                message: 'args.client.outputDirectory: expected a directory of its own on the Docker host, not a system directory ("/srv/../etc" is /etc), got "/srv/../etc"',
            });
        });
    });

    describe("the host's own Docker sockets", () => {
        it("are Docker's default, and the unix socket of DOCKER_HOST or docker:host, under either spelling of /var/run", () => {
            assert.deepEqual(hostDockerSockets([undefined, undefined]), DEFAULT_HOST_SOCKETS);
            assert.deepEqual(hostDockerSockets(["unix:///run/user/1000//docker.sock", "unix:///var/run/alt/docker.sock"]), [
                ...DEFAULT_HOST_SOCKETS,
                "/run/user/1000/docker.sock",
                "/var/run/user/1000/docker.sock",
                "/var/run/alt/docker.sock",
                "/run/alt/docker.sock",
            ]);
        });

        it("leave out remote hosts, whose socket is the default one", () => {
            assert.deepEqual(hostDockerSockets(["tcp://10.0.0.5:2376", "ssh://ci@build-host", "unix://relative.sock"]), DEFAULT_HOST_SOCKETS);
        });
    });

    describe("network names", () => {
        const accepted = ["ci-net", "registry_net", "a", "net.1", "0abc"];
        for (const name of accepted) {
            it(`takes ${JSON.stringify(name)}`, () => {
                assert.equal(dockerNetworkName(name, "args.networkName"), name);
            });
        }

        const refused: [unknown, RegExp][] = [
            ["host", /expected a user-defined network/],
            ["bridge", /expected a user-defined network/],
            ["none", /expected a user-defined network/],
            ["default", /expected a user-defined network/],
            ["container:registry", /expected a user-defined network/],
            ["", /expected a Docker network name/],
            [" ci-net", /expected a Docker network name/],
            ["-net", /expected a Docker network name/],
            ["ci/net", /expected a Docker network name/],
            ["ci net", /expected a Docker network name/],
            [42, /expected a Docker network name/],
        ];
        for (const [given, message] of refused) {
            it(`refuses ${JSON.stringify(given)}`, () => {
                assert.throws(() => dockerNetworkName(given, "args.networkName"), (error: Error) => {
                    assert.match(error.message, /^args\.networkName: /);
                    assert.match(error.message, message);
                    return true;
                });
            });
        }
    });

    describe("network attachments", () => {
        it("attach to each network once, in order, with the alias on each", () => {
            assert.deepEqual(networkAttachments(["own", "registry", "own"], "d"), [
                { name: "own", aliases: ["d"] },
                { name: "registry", aliases: ["d"] },
            ]);
            assert.deepEqual(networkAttachments(["own"]), [{ name: "own" }]);
        });
    });
});
