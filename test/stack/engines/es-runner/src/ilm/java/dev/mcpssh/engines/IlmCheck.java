package dev.mcpssh.engines;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.elasticsearch.common.Strings;
import org.elasticsearch.xcontent.ContextParser;
import org.elasticsearch.xcontent.NamedXContentRegistry;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.elasticsearch.xpack.core.ilm.AllocateAction;
import org.elasticsearch.xpack.core.ilm.DeleteAction;
import org.elasticsearch.xpack.core.ilm.DownsampleAction;
import org.elasticsearch.xpack.core.ilm.ForceMergeAction;
import org.elasticsearch.xpack.core.ilm.FreezeAction;
import org.elasticsearch.xpack.core.ilm.LifecycleAction;
import org.elasticsearch.xpack.core.ilm.LifecyclePolicy;
import org.elasticsearch.xpack.core.ilm.LifecycleType;
import org.elasticsearch.xpack.core.ilm.MigrateAction;
import org.elasticsearch.xpack.core.ilm.ReadOnlyAction;
import org.elasticsearch.xpack.core.ilm.RolloverAction;
import org.elasticsearch.xpack.core.ilm.SearchableSnapshotAction;
import org.elasticsearch.xpack.core.ilm.SetPriorityAction;
import org.elasticsearch.xpack.core.ilm.ShrinkAction;
import org.elasticsearch.xpack.core.ilm.TimeseriesLifecycleType;
import org.elasticsearch.xpack.core.ilm.UnfollowAction;
import org.elasticsearch.xpack.core.ilm.WaitForSnapshotAction;

/**
 * Checks ILM policy files with Elasticsearch 8's own ILM code (x-pack-core from the same
 * Elasticsearch home the tests run), because the ILM plugin itself, and so PUT _ilm/policy,
 * is not in any Elasticsearch 8 artifact on Maven Central.
 *
 * <p>Usage: {@code IlmCheck FILE...}; each file is a PUT _ilm/policy body ({"policy": {...}})
 * or a bare policy. Prints {@code OK file} or {@code FAIL file: reason} per file and exits 1
 * if any failed. It runs ES's parser (unknown fields and actions, bad values), the timeseries
 * rules ES applies on PUT (known phases, actions allowed per phase, their prerequisites), and
 * ES's own check that min_age increases from phase to phase.
 *
 * <p>Not covered (needs a cluster): that referenced snapshot repositories or SLM policies
 * exist, that nodes have the attributes an allocate/migrate action targets, and licence checks.
 * Built by scripts/engines/elasticsearch.sh with javac against that Elasticsearch home.
 */
public final class IlmCheck {
  private IlmCheck() {}

  private static NamedXContentRegistry.Entry action(String name, ContextParser<Object, ? extends LifecycleAction> parser) {
    return new NamedXContentRegistry.Entry(LifecycleAction.class, new ParseField(name), parser);
  }

  /** The same named entries the ILM plugin registers: the timeseries type and its actions. */
  static NamedXContentRegistry registry() {
    return new NamedXContentRegistry(
        List.of(
            new NamedXContentRegistry.Entry(
                LifecycleType.class, new ParseField(TimeseriesLifecycleType.TYPE), (p) -> TimeseriesLifecycleType.INSTANCE),
            action(AllocateAction.NAME, (p, c) -> AllocateAction.parse(p)),
            action(DeleteAction.NAME, (p, c) -> DeleteAction.parse(p)),
            action(DownsampleAction.NAME, (p, c) -> DownsampleAction.parse(p)),
            action(ForceMergeAction.NAME, (p, c) -> ForceMergeAction.parse(p)),
            action(FreezeAction.NAME, (p, c) -> FreezeAction.parse(p)),
            action(MigrateAction.NAME, (p, c) -> MigrateAction.parse(p)),
            action(ReadOnlyAction.NAME, (p, c) -> ReadOnlyAction.parse(p)),
            action(RolloverAction.NAME, (p, c) -> RolloverAction.parse(p)),
            action(SearchableSnapshotAction.NAME, (p, c) -> SearchableSnapshotAction.parse(p)),
            action(SetPriorityAction.NAME, (p, c) -> SetPriorityAction.parse(p)),
            action(ShrinkAction.NAME, (p, c) -> ShrinkAction.parse(p)),
            action(UnfollowAction.NAME, (p, c) -> UnfollowAction.parse(p)),
            action(WaitForSnapshotAction.NAME, (p, c) -> WaitForSnapshotAction.parse(p))));
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: IlmCheck FILE...");
      System.exit(2);
    }
    XContentParserConfiguration config = XContentParserConfiguration.EMPTY.withRegistry(registry());
    int failed = 0;
    for (String file : args) {
      try {
        check(config, Path.of(file));
        System.out.println("OK " + file);
      } catch (Exception e) {
        failed++;
        System.out.println("FAIL " + file + ": " + describe(e));
      }
    }
    System.exit(failed == 0 ? 0 : 1);
  }

  @SuppressWarnings("unchecked")
  static void check(XContentParserConfiguration config, Path file) throws Exception {
    String name = file.getFileName().toString().replaceFirst("\\.json$", "");
    LifecyclePolicy.validatePolicyName(name);
    String json = Files.readString(file);
    Map<String, Object> top;
    try (XContentParser p = JsonXContent.jsonXContent.createParser(config, json)) {
      top = p.map();
    }
    if (top.containsKey("policy")) {
      if (top.size() != 1) {
        throw new IllegalArgumentException("a PUT _ilm/policy body has only a \"policy\" field, found " + top.keySet());
      }
      XContentBuilder inner = JsonXContent.contentBuilder().map((Map<String, Object>) top.get("policy"));
      json = Strings.toString(inner);
    }
    try (XContentParser p = JsonXContent.jsonXContent.createParser(config, json)) {
      LifecyclePolicy policy = LifecyclePolicy.parse(p, name);
      policy.validate();
      TimeseriesLifecycleType.INSTANCE.validate(policy.getPhases().values());
      String timing = TimeseriesLifecycleType.validateMonotonicallyIncreasingPhaseTimings(policy.getPhases().values());
      if (timing != null && !timing.isEmpty()) { // "" means the timings are in order
        throw new IllegalArgumentException(timing);
      }
    }
  }

  private static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder(e.getClass().getSimpleName()).append(": ").append(e.getMessage());
    for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
      sb.append(" <- ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
    }
    return sb.toString().replace('\n', ' ');
  }
}
