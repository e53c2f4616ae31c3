package dev.mcpssh.engines;

import static org.codelibs.opensearch.runner.OpenSearchRunner.newConfigs;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * Starts one OpenSearch node in this JVM for the stack tests' ingest-pipeline checks.
 *
 * <p>Usage: {@code OpenSearchMain --http-port N --transport-port M --base DIR [--exit-on-stdin-eof]}
 * or {@code OpenSearchMain --version}.
 * Prints {@code READY http://127.0.0.1:N} on stdout once the cluster is yellow. With
 * --exit-on-stdin-eof the node stops when its parent closes our stdin, so a test runner that
 * dies cannot leave the node behind.
 */
public final class OpenSearchMain {
  private OpenSearchMain() {}

  public static void main(String[] args) throws Exception {
    int httpPort = 0;
    int transportPort = 0;
    String base = null;
    boolean exitOnEof = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--http-port" -> httpPort = Integer.parseInt(args[++i]);
        case "--transport-port" -> transportPort = Integer.parseInt(args[++i]);
        case "--base" -> base = args[++i];
        case "--exit-on-stdin-eof" -> exitOnEof = true;
        case "--version" -> {
          // Lets the provisioning script prove the class path is complete without a start.
          System.out.println("opensearch " + org.opensearch.Version.CURRENT);
          return;
        }
        default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
      }
    }
    if (httpPort <= 0 || transportPort <= 0 || base == null) {
      System.err.println("usage: OpenSearchMain --http-port N --transport-port M --base DIR [--exit-on-stdin-eof]");
      System.exit(2);
    }
    Files.createDirectories(Path.of(base));

    final int http = httpPort;
    final int transport = transportPort;
    OpenSearchRunner runner = new OpenSearchRunner();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> closeQuietly(runner), "opensearch-stop"));
    runner.onBuild((number, settings) -> {
      // Loopback only, and the ports the caller found free.
      settings.put("network.host", "127.0.0.1");
      settings.put("http.port", String.valueOf(http));
      settings.put("transport.port", String.valueOf(transport));
      // The runner's default roles leave out ingest, and bulk requests through a default
      // pipeline need an ingest node: give this one every role a single-node cluster has.
      settings.putList("node.roles", "cluster_manager", "data", "ingest");
      // A test box's disk may be fuller than production watermarks allow.
      settings.put("cluster.routing.allocation.disk.threshold_enabled", false);
    });
    runner.build(newConfigs().basePath(base).numOfNode(1).clusterName("mcp-stack-tests"));
    runner.ensureYellow();
    System.out.println("READY http://127.0.0.1:" + http);
    System.out.flush();

    if (exitOnEof) {
      InputStream in = System.in;
      byte[] buf = new byte[256];
      while (in.read(buf) >= 0) {
        // Nothing is expected on stdin; we only wait for the parent to go away.
      }
      System.exit(0);
    }
    Thread.currentThread().join();
  }

  private static void closeQuietly(OpenSearchRunner runner) {
    try {
      if (!runner.isClosed()) {
        runner.close();
      }
    } catch (IOException e) {
      System.err.println("opensearch close failed: " + e);
    }
  }
}
