--
-- PostgreSQL database dump
--

\restrict GqUvhBtZ34dLeufBKQcyxeBzxovchm8j3GuFhkl0TglnFK5mLiLS5mi2Tqcb4xL

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: we'ird; Type: DATABASE; Schema: -; Owner: postgres
--

CREATE DATABASE "we'ird" WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';


ALTER DATABASE "we'ird" OWNER TO postgres;

\unrestrict GqUvhBtZ34dLeufBKQcyxeBzxovchm8j3GuFhkl0TglnFK5mLiLS5mi2Tqcb4xL
\encoding SQL_ASCII
\connect -reuse-previous=on "dbname='we\'ird'"
\restrict GqUvhBtZ34dLeufBKQcyxeBzxovchm8j3GuFhkl0TglnFK5mLiLS5mi2Tqcb4xL

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: DATABASE "we'ird"; Type: COMMENT; Schema: -; Owner: postgres
--

COMMENT ON DATABASE "we'ird" IS 'multi
line;
comment';


--
-- Name: we'ird; Type: DATABASE PROPERTIES; Schema: -; Owner: postgres
--

ALTER DATABASE "we'ird" CONNECTION LIMIT = 20;
ALTER DATABASE "we'ird" SET work_mem TO '8MB';
ALTER ROLE r1 IN DATABASE "we'ird" SET search_path TO 'x';


\unrestrict GqUvhBtZ34dLeufBKQcyxeBzxovchm8j3GuFhkl0TglnFK5mLiLS5mi2Tqcb4xL
\encoding SQL_ASCII
\connect -reuse-previous=on "dbname='we\'ird'"
\restrict GqUvhBtZ34dLeufBKQcyxeBzxovchm8j3GuFhkl0TglnFK5mLiLS5mi2Tqcb4xL

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: f(); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.f() RETURNS integer
    LANGUAGE sql
    AS $$
SELECT 1;
$$;


ALTER FUNCTION public.f() OWNER TO postgres;

--
-- Name: g(); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.g() RETURNS text
    LANGUAGE plpgsql
    AS $$
BEGIN
  RETURN 'CREATE DATABASE x;
ALTER DATABASE y;';
END
$$;


ALTER FUNCTION public.g() OWNER TO postgres;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: scripts; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.scripts (
    line text,
    n integer
);


ALTER TABLE public.scripts OWNER TO postgres;

--
-- Name: TABLE scripts; Type: COMMENT; Schema: public; Owner: postgres
--

COMMENT ON TABLE public.scripts IS 'lines;
CREATE DATABASE inside a comment string;';


--
-- Name: v; Type: VIEW; Schema: public; Owner: postgres
--

CREATE VIEW public.v AS
 SELECT scripts.line AS "weird "" name",
    'it''s'::text AS s
   FROM public.scripts;


ALTER TABLE public.v OWNER TO postgres;

--
-- Data for Name: scripts; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.scripts (line, n) FROM stdin;
CREATE DATABASE evil;	1
\\connect other	2
ALTER DATABASE x OWNER TO y;	3
COMMENT ON DATABASE z IS 'a\nb';	4
\\.x	5
don't stop /* here	6
$$ dollar	7
\.


--
-- Name: DATABASE "we'ird"; Type: ACL; Schema: -; Owner: postgres
--

GRANT CREATE ON DATABASE "we'ird" TO r1;


--
-- PostgreSQL database dump complete
--

\unrestrict GqUvhBtZ34dLeufBKQcyxeBzxovchm8j3GuFhkl0TglnFK5mLiLS5mi2Tqcb4xL

