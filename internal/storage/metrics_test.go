package storage

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/taudb/tau/internal/storage/wal"
)

// TestMetricsNames: every instrument is registered on the given registry (none global), named
// tau_storage_<name>_<unit>; two stores on two registries do not clash.
func TestMetricsNames(t *testing.T) {
	want := []string{
		"tau_storage_checkpoint_duration_seconds", "tau_storage_chunk_files",
		"tau_storage_compaction_duration_seconds", "tau_storage_compactions_total",
		"tau_storage_disk_bytes", "tau_storage_fsync_duration_seconds",
		"tau_storage_fsync_failures_total", "tau_storage_fsyncs_total",
		"tau_storage_last_checkpoint_timestamp_seconds", "tau_storage_log_size_bytes",
		"tau_storage_log_written_bytes_total", "tau_storage_mapped_bytes", "tau_storage_out_of_space",
		"tau_storage_records_appended_total", "tau_storage_recovered_records",
		"tau_storage_recovered_series", "tau_storage_recovery_duration_seconds",
		"tau_storage_retention_deleted_files_total", "tau_storage_write_failures_total",
	}
	for i := 0; i < 2; i++ {
		reg := prometheus.NewRegistry()
		d, _ := openRecovered(t, t.TempDir(), DiskOptions{Registerer: reg})
		mustAppend(t, d, nil, create(lbl("a")))
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fams {
			got = append(got, f.GetName())
			if f.GetName() == "tau_storage_log_size_bytes" && f.GetMetric()[0].GetGauge().GetValue() != float64(wal.SegmentHeaderSize+wal.FrameSize(&Record{Type: RecordCreate})) {
				t.Errorf("log size %v", f.GetMetric()[0].GetGauge().GetValue())
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("metrics\n got %v\nwant %v", got, want)
		}
		_ = d.Close()
	}
}
