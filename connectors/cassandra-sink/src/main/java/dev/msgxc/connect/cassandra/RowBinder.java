package dev.msgxc.connect.cassandra;

import com.datastax.oss.driver.api.core.CqlIdentifier;
import com.datastax.oss.driver.api.core.metadata.schema.ColumnMetadata;
import com.datastax.oss.driver.api.core.metadata.schema.TableMetadata;
import com.datastax.oss.driver.api.core.type.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;

/** Turns a record value into the typed values of the table's INSERT, checked against the table's schema. */
final class RowBinder {
  private final ColumnMapping mapping;
  private final List<DataType> types = new ArrayList<>();
  private final List<Integer> primaryKey = new ArrayList<>();
  private final int[] partitionKey;
  private final String insertCql;

  RowBinder(ColumnMapping mapping, TableMetadata table) {
    this.mapping = mapping;
    List<String> names = mapping.columnNames();
    for (String name : names) {
      ColumnMetadata column = table.getColumn(CqlIdentifier.fromInternal(name))
          .orElseThrow(() -> new ConnectException("column " + name + " is not in table " + table.getName()));
      types.add(column.getType());
    }
    for (ColumnMetadata key : table.getPrimaryKey()) {
      int index = names.indexOf(key.getName().asInternal());
      if (index < 0) throw new ConnectException("primary key column " + key.getName() + " is not mapped");
      primaryKey.add(index);
    }
    partitionKey = table.getPartitionKey().stream().mapToInt(key -> names.indexOf(key.getName().asInternal())).toArray();
    insertCql = "INSERT INTO " + table.getKeyspace().asCql(true) + "." + table.getName().asCql(true) + " ("
        + names.stream().map(name -> CqlIdentifier.fromInternal(name).asCql(true)).collect(Collectors.joining(", "))
        + ") VALUES (" + names.stream().map(name -> "?").collect(Collectors.joining(", ")) + ")";
  }

  String insertCql() {
    return insertCql;
  }

  int[] partitionKeyIndexes() {
    return partitionKey.clone();
  }

  Object[] bind(Object value) {
    Object[] row = mapping.values(value);
    List<String> names = mapping.columnNames();
    for (int index = 0; index < row.length; index++) {
      row[index] = CqlValues.convert(names.get(index), types.get(index), row[index]);
    }
    for (int index : primaryKey) {
      if (row[index] == null) throw new DataException("primary key column " + names.get(index) + " is null");
    }
    return row;
  }
}
