package dev.msgxc.connect.cassandra;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Date;
import java.util.List;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.errors.DataException;
import org.junit.jupiter.api.Test;

class ColumnMappingTest {
  private static final Schema SENDER = SchemaBuilder.struct().name("dev.msgxc.Sender")
      .field("kind", Schema.STRING_SCHEMA).field("id", Schema.STRING_SCHEMA).build();
  private static final Schema EVENT = SchemaBuilder.struct().name("dev.msgxc.DeliveryEvent")
      .field("eventId", Schema.STRING_SCHEMA)
      .field("at", Timestamp.SCHEMA)
      .field("messageId", Schema.OPTIONAL_STRING_SCHEMA)
      .field("sender", SchemaBuilder.struct().optional().field("kind", Schema.STRING_SCHEMA)
          .field("id", Schema.STRING_SCHEMA).build())
      .build();

  // 2026-03-04T05:06:07.008Z
  private static final long AT = 1_772_600_767_008L;

  private static Struct event(String messageId) {
    Struct sender = new Struct(EVENT.field("sender").schema()).put("kind", "service").put("id", "billing");
    return new Struct(EVENT).put("eventId", "e1").put("at", new Date(AT)).put("messageId", messageId).put("sender", sender);
  }

  @Test
  void mapsFieldsNestedPathsAndUtcDayAndHour() {
    ColumnMapping mapping = ColumnMapping.parse(
        List.of("event_id=eventId", "at=at", "day=day(at)", "hour=hour(at)", "message_id=messageId", "sender_id=sender.id"),
        List.of());
    Object[] row = mapping.values(event("m1"));
    assertArrayEquals(new Object[] {"e1", new Date(AT), 20_516L, 5, "m1", "billing"}, row);
    assertEquals(List.of("event_id", "at", "day", "hour", "message_id", "sender_id"), mapping.columnNames());
  }

  @Test
  void dayAndHourOfTimesBeforeTheEpochRoundDown() {
    ColumnMapping mapping = ColumnMapping.parse(List.of("day=day(at)", "hour=hour(at)"), List.of());
    Struct struct = new Struct(EVENT).put("eventId", "e").put("at", new Date(-1L));
    assertArrayEquals(new Object[] {-1L, 23}, mapping.values(struct));
  }

  @Test
  void aNullSkipColumnSkipsTheRecordAndOtherNullsStayNull() {
    ColumnMapping skipping = ColumnMapping.parse(List.of("message_id=messageId", "event_id=eventId"), List.of("message_id"));
    ColumnMapping.SkipRecord skip = assertThrows(ColumnMapping.SkipRecord.class, () -> skipping.values(event(null)));
    assertTrue(skip.getMessage().contains("message_id"));
    ColumnMapping keeping = ColumnMapping.parse(List.of("message_id=messageId", "event_id=eventId"), List.of());
    assertArrayEquals(new Object[] {null, "e1"}, keeping.values(event(null)));
  }

  @Test
  void aValueOfTheWrongShapeIsADataErrorThatNamesIt() {
    ColumnMapping mapping = ColumnMapping.parse(List.of("x=eventId.inner"), List.of());
    DataException inside = assertThrows(DataException.class, () -> mapping.values(event("m")));
    assertTrue(inside.getMessage().contains("eventId.inner"));
    DataException tombstone = assertThrows(DataException.class, () -> mapping.values(null));
    assertTrue(tombstone.getMessage().contains("tombstone"));
    ColumnMapping notATime = ColumnMapping.parse(List.of("d=day(eventId)"), List.of());
    assertThrows(DataException.class, () -> notATime.values(event("m")));
  }

  @Test
  void aFieldAnOlderSchemaVersionLacksReadsAsNull() {
    ColumnMapping mapping = ColumnMapping.parse(List.of("event_id=eventId", "provider=provider"), List.of());
    assertArrayEquals(new Object[] {"e1", null}, mapping.values(event("m")));
  }

  @Test
  void refusesBadDeclarations() {
    assertThrows(ConfigException.class, () -> ColumnMapping.parse(List.of("a"), List.of()));
    assertThrows(ConfigException.class, () -> ColumnMapping.parse(List.of("a=b", "a=c"), List.of()));
    assertThrows(ConfigException.class, () -> ColumnMapping.parse(List.of("a=week(at)"), List.of()));
    assertThrows(ConfigException.class, () -> ColumnMapping.parse(List.of("a=b"), List.of("c")));
    assertThrows(ConfigException.class, () -> ColumnMapping.parse(List.of(), List.of()));
  }
}
