package dev.msgxc.connect.cassandra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.datastax.oss.driver.api.core.type.DataTypes;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Date;
import java.util.List;
import org.apache.kafka.connect.errors.DataException;
import org.junit.jupiter.api.Test;

class CqlValuesTest {
  @Test
  void convertsConnectValuesToTheDriverTypesOfTheColumn() {
    assertEquals(Instant.ofEpochMilli(1234), CqlValues.convert("at", DataTypes.TIMESTAMP, new Date(1234)));
    assertEquals(Instant.ofEpochMilli(1234), CqlValues.convert("at", DataTypes.TIMESTAMP, 1234L));
    assertEquals(LocalDate.of(2026, 3, 4), CqlValues.convert("day", DataTypes.DATE, 20_516L));
    assertEquals(3, CqlValues.convert("urgency", DataTypes.INT, 3));
    assertEquals("sms", CqlValues.convert("channel", DataTypes.TEXT, "sms"));
    assertEquals(List.of("ws", "sms"), CqlValues.convert("channels", DataTypes.listOf(DataTypes.TEXT), List.of("ws", "sms")));
    assertNull(CqlValues.convert("reason", DataTypes.TEXT, null));
  }

  @Test
  void aValueTheColumnCannotHoldIsADataError() {
    assertThrows(DataException.class, () -> CqlValues.convert("urgency", DataTypes.INT, "high"));
    assertThrows(DataException.class, () -> CqlValues.convert("x", DataTypes.DURATION, 1));
  }
}
