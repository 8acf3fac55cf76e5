package dev.msgxc.connect.cassandra;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/** Sinks one topic into one Cassandra table; every task gets the same declaration, Connect splits the partitions. */
public final class CassandraSinkConnector extends SinkConnector {
  public static final String VERSION = "0.1.0";
  private Map<String, String> properties;

  @Override
  public void start(Map<String, String> properties) {
    new CassandraSinkConfig(properties).mapping(); // refuse a bad declaration before any task starts
    this.properties = Map.copyOf(properties);
  }

  @Override
  public Class<? extends Task> taskClass() {
    return CassandraSinkTask.class;
  }

  @Override
  public List<Map<String, String>> taskConfigs(int maxTasks) {
    List<Map<String, String>> configs = new ArrayList<>(maxTasks);
    for (int task = 0; task < maxTasks; task++) configs.add(properties);
    return configs;
  }

  @Override
  public void stop() {}

  @Override
  public ConfigDef config() {
    return CassandraSinkConfig.DEFINITION;
  }

  /** Adds the column mapping's own checks to ConfigDef's, so PUT /config answers 400 with the reason. */
  @Override
  public Config validate(Map<String, String> connectorConfigs) {
    Config config = super.validate(connectorConfigs);
    boolean definitionValid = config.configValues().stream().allMatch(value -> value.errorMessages().isEmpty());
    if (definitionValid) {
      try {
        new CassandraSinkConfig(connectorConfigs).mapping();
      } catch (ConfigException error) {
        for (ConfigValue value : config.configValues()) {
          if (value.name().equals(CassandraSinkConfig.COLUMNS)) value.addErrorMessage(error.getMessage());
        }
      }
    }
    return config;
  }

  @Override
  public String version() {
    return VERSION;
  }
}
