package dev.msgxc.connect.cassandra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchWriterTest {
  private static BatchWriter.Row row(String partition, int n) {
    return new BatchWriter.Row(null, new Object[] {partition, n});
  }

  @Test
  void groupsRowsByPartitionKeyKeepingOrderAndCappingTheBatchSize() {
    List<BatchWriter.Row> rows = new ArrayList<>();
    for (int n = 0; n < 5; n++) {
      rows.add(row("a", n));
      rows.add(row("b", n));
    }
    List<List<BatchWriter.Row>> groups = BatchWriter.groups(rows, new int[] {0}, 2);
    List<String> seen = groups.stream()
        .map(group -> group.stream().map(r -> r.values()[0] + "" + r.values()[1]).reduce("", String::concat))
        .toList();
    assertEquals(List.of("a0a1", "a2a3", "a4", "b0b1", "b2b3", "b4"), seen);
  }
}
