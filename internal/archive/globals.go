package archive

// Globals is the database name under which `push --globals` archives the
// cluster's roles and tablespaces (pg_dumpall --globals-only), beside the
// databases: <host>/globals/globals_<stamp>.sql<suffix>.age. services.
// postgresqlBackup dumps databases only, and a database restored without
// its owners and grantees on a new server loses them. The name is
// reserved: push refuses a database called "globals" from a dump file.
const Globals = "globals"
