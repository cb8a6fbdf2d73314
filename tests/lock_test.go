package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Issue 11: archives a stolen host cannot destroy.

// lockBucket is a second bucket on the harness's MinIO, created with
// object lock (so versioned): the harness's own bucket has neither.
const lockBucket = "pgarchive-lock"

func startLockMinIO(t *testing.T) *harness.S3 {
	t.Helper()
	s := harness.StartMinIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(lockBucket), ObjectLockEnabledForBucket: aws.Bool(true)})
	if err != nil {
		t.Fatalf("create bucket with object lock: %v", err)
	}
	t.Cleanup(func() { lockCleanUp(t, s) })
	return s
}

// lockCleanUp removes every version in the lock bucket with the
// GOVERNANCE bypass, as an administrator would; with COMPLIANCE locks
// this could not be done, which is why the tests lock in GOVERNANCE mode.
func lockCleanUp(t *testing.T, s *harness.S3) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := s.Client()
	out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(lockBucket)})
	if err != nil {
		t.Errorf("clean up: list versions: %v", err)
		return
	}
	del := func(key, id *string) {
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(lockBucket), Key: key, VersionId: id, BypassGovernanceRetention: aws.Bool(true)})
		if err != nil {
			t.Errorf("clean up %s: %v", aws.ToString(key), err)
		}
	}
	for _, v := range out.Versions {
		del(v.Key, v.VersionId)
	}
	for _, m := range out.DeleteMarkers {
		del(m.Key, m.VersionId)
	}
}

// lockTarget is an s3 target in the lock bucket with object_lock set;
// extra holds more lines for the table. Credentials are the root ones
// unless secrets names other files.
func lockTarget(t *testing.T, name string, s *harness.S3, lock, secrets string) string {
	t.Helper()
	if secrets == "" {
		id, key := s.WriteKeyFiles(t)
		secrets = fmt.Sprintf("{ access_key_id = %s, secret_access_key = %s }", toml(id), toml(key))
	}
	return fmt.Sprintf(`[targets.%s]
type = "s3"
path = %s
options = { provider = "Minio", endpoint = %s, region = "us-east-1" }
secret_files = %s
object_lock = %s
`, name, toml(lockBucket+"/pg"), toml(s.Endpoint), secrets, lock)
}

// retention reads an object's lock through the S3 API.
func retention(t *testing.T, c *s3.Client, key string) (string, time.Time) {
	t.Helper()
	out, err := c.GetObjectRetention(context.Background(), &s3.GetObjectRetentionInput{Bucket: aws.String(lockBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get retention of %s: %v", key, err)
	}
	return string(out.Retention.Mode), aws.ToTime(out.Retention.RetainUntilDate).UTC()
}

type lockListRow struct {
	Database         string     `json:"database"`
	Object           string     `json:"object"`
	Status           string     `json:"status"`
	Deleted          *time.Time `json:"deleted"`
	RecoverableUntil *time.Time `json:"recoverable_until"`
	Lock             *struct {
		Mode  string    `json:"mode"`
		Until time.Time `json:"until"`
	} `json:"lock"`
}

func lockList(t *testing.T, env []string, args ...string) []lockListRow {
	t.Helper()
	r := mustRun(t, env, append([]string{"list", "--json"}, args...)...)
	var doc struct {
		Archives []lockListRow `json:"archives"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Archives == nil {
		t.Fatalf("list --json: %v\n%s", err, r.stdout)
	}
	return doc.Archives
}

func lockGet(t *testing.T, c *s3.Client, key string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(lockBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestObjectLockPushDeleteRestore: a push locks archive and manifest and
// the manifest says so; a delete with the host's credentials only hides
// them; status and list say so, restore --as-of brings the archive back,
// and the locked version itself cannot be deleted.
func TestObjectLockPushDeleteRestore(t *testing.T) {
	s := startLockMinIO(t)
	c := s.Client()
	dumpDir := t.TempDir()
	dump := harness.FakeDump(t, dumpDir, "ledger", 30_000)
	identity, recipient := keypair(t, false)
	textfile := filepath.Join(t.TempDir(), "pgarchive.prom")
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient),
		lockTarget(t, "vault", s, `{ mode = "GOVERNANCE", days = 2 }`, ""))
	cfg = pruneConfigWith(t, cfg, "", "[metrics]\ntextfile = "+toml(textfile)+"\n")
	env := []string{"PGARCHIVE_CONFIG=" + cfg}

	before := time.Now().UTC()
	mustRun(t, env, "push", "--database", "ledger")
	rows := lockList(t, env)
	if len(rows) != 1 || rows[0].Status != "complete" || rows[0].Lock == nil {
		t.Fatalf("list after push: %+v", rows)
	}
	obj := "pg/" + rows[0].Object
	wantMin, wantMax := before.Add(48*time.Hour), time.Now().UTC().Add(48*time.Hour+2*time.Second)
	for _, key := range []string{obj, obj + ".json"} {
		mode, until := retention(t, c, key)
		if mode != "GOVERNANCE" || until.Before(wantMin) || until.After(wantMax) {
			t.Errorf("%s: retention %s until %s, want GOVERNANCE until about %s", key, mode, until, wantMin)
		}
		if !until.Equal(rows[0].Lock.Until) {
			t.Errorf("%s: retention until %s, list says %s", key, until, rows[0].Lock.Until)
		}
	}
	var m struct {
		Lock *struct {
			Mode  string    `json:"mode"`
			Until time.Time `json:"until"`
		} `json:"lock"`
	}
	if err := json.Unmarshal(lockGet(t, c, obj+".json"), &m); err != nil || m.Lock == nil || m.Lock.Mode != "GOVERNANCE" || !m.Lock.Until.Equal(rows[0].Lock.Until) {
		t.Errorf("manifest lock %+v (%v), want GOVERNANCE until %s", m.Lock, err, rows[0].Lock.Until)
	}
	prom := textfileSeries(t, textfile)
	if got := prom[`pgarchive_archive_lock_until_timestamp_seconds{database="ledger",target="vault"}`]; got != float64(rows[0].Lock.Until.Unix()) {
		t.Errorf("lock gauge %v, want %d", got, rows[0].Lock.Until.Unix())
	}

	var st struct {
		Databases []struct {
			Targets []struct {
				Lock *struct {
					Until time.Time `json:"until"`
				} `json:"lock"`
			} `json:"targets"`
		} `json:"databases"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, env, "status", "--json").stdout), &st); err != nil || len(st.Databases) != 1 ||
		st.Databases[0].Targets[0].Lock == nil || !st.Databases[0].Targets[0].Lock.Until.Equal(rows[0].Lock.Until) {
		t.Errorf("status --json does not show the newest archive's lock: %+v (%v)", st, err)
	}
	if text := mustRun(t, env, "status").stdout; !strings.Contains(text, "ok, locked until "+rows[0].Lock.Until.UTC().Format("2006-01-02 15:04:05Z")) {
		t.Errorf("status table does not show the lock:\n%s", text)
	}

	// The stolen host deletes what it sees: both succeed, as delete
	// markers in front of the locked versions.
	time.Sleep(1500 * time.Millisecond)
	asOf := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	time.Sleep(1500 * time.Millisecond)
	ctx := context.Background()
	for _, key := range []string{obj + ".json", obj} {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(lockBucket), Key: aws.String(key)}); err != nil {
			t.Fatalf("plain delete of %s: %v", key, err)
		}
	}
	if rows := lockList(t, env); len(rows) != 1 || rows[0].Status != "deleted" || rows[0].RecoverableUntil == nil || !rows[0].RecoverableUntil.Equal(rows[0].Lock.Until) {
		t.Errorf("list after the delete: %+v", rows)
	}
	r := pgarchive(t, env, "status")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "archive deleted, recoverable until "+m.Lock.Until.UTC().Format(time.RFC3339)) {
		t.Errorf("status after the delete: %s", r)
	}

	// As it was before the delete: listed complete, and restored whole.
	if rows := lockList(t, env, "--as-of", asOf); len(rows) != 1 || rows[0].Status != "complete" {
		t.Errorf("list --as-of %s: %+v", asOf, rows)
	}
	out := filepath.Join(t.TempDir(), "ledger.sql.gz")
	mustRun(t, env, "restore", "--database", "ledger", "--as-of", asOf, "--identity", identity, "--output", out)
	if !bytes.Equal(harness.ReadFile(t, out), harness.ReadFile(t, dump)) {
		t.Error("restore --as-of did not bring back the dump as pushed")
	}

	// The version itself is locked: deleting it is refused.
	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(lockBucket), Prefix: aws.String(obj)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Versions {
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(lockBucket), Key: v.Key, VersionId: v.VersionId})
		if err == nil {
			t.Errorf("deleting locked version %s of %s succeeded", aws.ToString(v.VersionId), aws.ToString(v.Key))
		} else {
			t.Logf("deleting the locked version of %s: %v", aws.ToString(v.Key), apiCode(err))
		}
	}
}

// TestObjectLockPrune: prune keeps what is locked and says until when,
// extends the lock of what it keeps as a weekly to the date the weekly
// slot could let it go, and deletes an archive once its lock is over, all
// its versions with it.
func TestObjectLockPrune(t *testing.T) {
	s := startLockMinIO(t)
	c := s.Client()
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "ledger", 20_000)
	_, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient),
		lockTarget(t, "vault", s, `{ mode = "GOVERNANCE", days = 1 }`, ""))
	cfg = pruneConfigWith(t, cfg, "", "[retention]\ndaily = 1\nweekly = 4\n")
	env := []string{"PGARCHIVE_CONFIG=" + cfg}

	// Stamps relative to the real clock: the store judges locks by it.
	now := time.Now().UTC()
	day := func(d int, h int) time.Time {
		x := now.AddDate(0, 0, -d)
		return time.Date(x.Year(), x.Month(), x.Day(), h, 0, 0, 0, time.UTC)
	}
	stamp := func(x time.Time) string { return x.Format("20060102T150405Z") }
	older, weekly, recent := day(14, 11), day(14, 12), now.Add(-time.Minute).Truncate(time.Second)
	prunePushAt(t, env, "ledger", stamp(older), stamp(weekly), stamp(recent))
	key := func(x time.Time) string { return "pg/db1/ledger/ledger_" + stamp(x) + ".sql.gz.age" }

	nowEnv := append(env, "PGARCHIVE_TEST_NOW="+stamp(now))
	r := mustRun(t, nowEnv, "prune", "--json")
	rows := pruneJSON(t, r)
	byObj := map[string]pruneRowJSON{}
	for _, row := range rows {
		byObj["pg/"+row.Object] = row
	}
	if row := byObj[key(older)]; row.Action != "keep" || !strings.Contains(strings.Join(row.Reasons, ", "), "locked until ") {
		t.Errorf("locked archive the policy drops: %+v, want kept as locked until …\n%s", row, r.stdout)
	}
	// The weekly slot of 14 days ago lets go at the earliest on the
	// Monday four ISO weeks after the Monday of its week.
	w := weekly.AddDate(0, 0, -((int(weekly.Weekday()) + 6) % 7))
	release := time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 28)
	for _, k := range []string{key(weekly), key(weekly) + ".json"} {
		if mode, until := retention(t, c, k); mode != "GOVERNANCE" || !until.Equal(release) {
			t.Errorf("%s after prune: %s until %s, want GOVERNANCE until %s", k, mode, until, release)
		}
	}
	if row := byObj[key(weekly)]; row.Action != "keep" {
		t.Errorf("weekly: %+v", row)
	}
	text := mustRun(t, nowEnv, "prune", "--dry-run").stdout
	if !strings.Contains(text, "not kept by policy, locked until ") {
		t.Errorf("prune's table does not say why it keeps a locked archive:\n%s", text)
	}

	// An administrator shortens the lock (GOVERNANCE bypass) to let it
	// run out: the next prune deletes the archive, every version.
	ctx := context.Background()
	soon := time.Now().UTC().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
	for _, k := range []string{key(older), key(older) + ".json"} {
		_, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{
			Bucket: aws.String(lockBucket), Key: aws.String(k), BypassGovernanceRetention: aws.Bool(true),
			Retention: &s3types.ObjectLockRetention{Mode: s3types.ObjectLockRetentionModeGovernance, RetainUntilDate: &soon},
		})
		if err != nil {
			t.Fatalf("shorten the lock of %s: %v", k, err)
		}
	}
	time.Sleep(time.Until(soon) + time.Second)
	rows = pruneJSON(t, mustRun(t, nowEnv, "prune", "--json"))
	for _, row := range rows {
		if "pg/"+row.Object == key(older) && row.Action != "deleted" {
			t.Errorf("archive whose lock ran out: %+v", row)
		}
	}
	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(lockBucket), Prefix: aws.String(key(older))})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Versions)+len(vs.DeleteMarkers) != 0 {
		t.Errorf("pruned archive left %d versions and %d delete markers", len(vs.Versions), len(vs.DeleteMarkers))
	}
	if r := pgarchive(t, nowEnv, "status"); strings.Contains(r.stdout+r.stderr, "archive deleted") {
		t.Errorf("status reports a pruned archive as deleted: %s", r)
	}
}

// createOnlyPolicy is the MinIO policy of docs/immutability.md for bucket
// lockBucket: put, read and list, never delete, never shorten a lock.
const createOnlyPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation", "s3:GetBucketObjectLockConfiguration"],
      "Resource": ["arn:aws:s3:::pgarchive-lock"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObjectRetention", "s3:GetObjectRetention"],
      "Resource": ["arn:aws:s3:::pgarchive-lock/pg/*"]
    }
  ]
}`

// TestObjectLockCreateOnlyKey: with the create-only policy of
// docs/immutability.md, a host pushes, and can delete nothing.
//
// The policy is applied as the session policy of temporary credentials
// (STS AssumeRole, which the aws SDK speaks): MinIO's admin API, which
// creates users and named policies, wants madmin's encrypted bodies,
// that is mc. MinIO evaluates a session policy as it does a user's.
func TestObjectLockCreateOnlyKey(t *testing.T) {
	s := startLockMinIO(t)
	ctx := context.Background()
	stsc := sts.New(sts.Options{
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		BaseEndpoint: aws.String(s.Endpoint),
	})
	role, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:minio:iam:::role/pgarchive-host"), RoleSessionName: aws.String("db1"),
		Policy: aws.String(createOnlyPolicy), DurationSeconds: aws.Int32(3600),
	})
	if err != nil {
		t.Fatalf("assume role with the create-only policy: %v", err)
	}
	cr := role.Credentials
	dir := t.TempDir()
	secrets := fmt.Sprintf("{ access_key_id = %s, secret_access_key = %s, session_token = %s }",
		toml(harness.WriteFile(t, dir, "id", aws.ToString(cr.AccessKeyId))),
		toml(harness.WriteFile(t, dir, "key", aws.ToString(cr.SecretAccessKey))),
		toml(harness.WriteFile(t, dir, "token", aws.ToString(cr.SessionToken))))

	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "ledger", 20_000)
	_, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), lockTarget(t, "vault", s, `{ mode = "GOVERNANCE", days = 1 }`, secrets))
	cfg = pruneConfigWith(t, cfg, "prune_on_host = false", "[retention]\ndaily = 1\n")
	env := []string{"PGARCHIVE_CONFIG=" + cfg}
	mustRun(t, env, "push", "--database", "ledger")
	rows := lockList(t, env)
	if len(rows) != 1 || rows[0].Status != "complete" {
		t.Fatalf("list with the create-only key: %+v", rows)
	}

	host := s3.New(s3.Options{
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken)),
		BaseEndpoint: aws.String(s.Endpoint), UsePathStyle: true,
	})
	obj := "pg/" + rows[0].Object
	for _, key := range []string{obj, obj + ".json"} {
		_, err := host.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(lockBucket), Key: aws.String(key)})
		if apiCode(err) != "AccessDenied" {
			t.Errorf("delete of %s with the create-only key: %v, want AccessDenied", key, err)
		}
	}
	// Nor can it overwrite: the store refuses a put over the name.
	_, err = host.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(lockBucket), Key: aws.String(obj), Body: strings.NewReader("ransom"), IfNoneMatch: aws.String("*")})
	if apiCode(err) != "PreconditionFailed" {
		t.Errorf("conditional overwrite of %s: %v, want PreconditionFailed", obj, err)
	}
	if r := pgarchive(t, env, "prune"); r.code != 2 {
		t.Errorf("prune with prune_on_host = false: %s", r)
	}
	// What the key may do, it may do: the host's own status, with the
	// delete markers the root key leaves, read through the key.
	root := s.Client()
	if _, err := root.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(lockBucket), Key: aws.String(obj)}); err != nil {
		t.Fatal(err)
	}
	if r := pgarchive(t, env, "status"); r.code != 1 || !strings.Contains(r.stderr, "archive deleted, recoverable until ") {
		t.Errorf("status through the create-only key after a delete: %s", r)
	}

}

// TestLockCheckConfig: check-config refuses a lock where there is none to
// set, and one shorter than a day.
func TestLockCheckConfig(t *testing.T) {
	dumpDir := t.TempDir()
	_, recipient := keypair(t, false)
	s3t := func(lock string) string {
		return fmt.Sprintf("[targets.vault]\ntype = \"s3\"\npath = \"b/pg\"\noptions = { provider = \"Minio\", endpoint = \"http://127.0.0.1:9\" }\nobject_lock = %s\n", lock)
	}
	for _, c := range []struct {
		name, target, want string
	}{
		{"local", localTarget("usb", t.TempDir()) + "object_lock = { mode = \"GOVERNANCE\", days = 7 }\n", `targets.usb.object_lock: backend "local" has no object lock`},
		{"zero days", s3t(`{ mode = "COMPLIANCE", days = 0 }`), "targets.vault.object_lock.days: is 0: a lock shorter than a day"},
		{"unknown mode", s3t(`{ mode = "LEGAL", days = 7 }`), `targets.vault.object_lock.mode: "LEGAL" is not`},
		{"r2", strings.Replace(s3t(`{ mode = "COMPLIANCE", days = 7 }`), `"Minio"`, `"Cloudflare"`, 1), `provider "Cloudflare" has no S3 object lock`},
		{"rclone options too", strings.Replace(s3t(`{ mode = "COMPLIANCE", days = 7 }`), `endpoint = "http://127.0.0.1:9"`, `endpoint = "http://127.0.0.1:9", object_lock_mode = "GOVERNANCE"`, 1), "options.object_lock_mode is set too"},
	} {
		cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), c.target)
		r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "check-config")
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: %s\nwant exit 2 and %q", c.name, r, c.want)
		}
	}
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), s3t(`{ mode = "COMPLIANCE", days = 1 }`))
	if r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "check-config"); r.code != 0 {
		t.Errorf("a one-day COMPLIANCE lock on s3: %s", r)
	}
}

// TestObjectLockBucketWithoutLock: object_lock on a bucket created without
// Object Lock fails the push there, loudly, and leaves nothing behind.
func TestObjectLockBucketWithoutLock(t *testing.T) {
	s := harness.StartMinIO(t)
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "ledger", 20_000)
	_, recipient := keypair(t, false)
	tg := strings.Replace(lockTarget(t, "vault", s, `{ mode = "GOVERNANCE", days = 1 }`, ""), toml(lockBucket+"/pg"), toml(s.Bucket+"/pg"), 1)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), tg)
	r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "push", "--database", "ledger")
	if r.code != 1 {
		t.Errorf("push with a lock to a bucket without Object Lock: %s", r)
	}
	if keys := s.Keys(t, "pg/"); len(keys) != 0 {
		t.Errorf("left behind: %v", keys)
	}
}
