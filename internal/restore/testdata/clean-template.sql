--
-- PostgreSQL database dump
--

\restrict 6m25f8GUorx6YNZsdvYxYlTrzG0DHrhfbPbSi1oVzRbhqaakwNa68gCruQlVbSQ

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

UPDATE pg_catalog.pg_database SET datistemplate = false WHERE datname = 'tmpl';
DROP DATABASE IF EXISTS tmpl;
--
-- Name: tmpl; Type: DATABASE; Schema: -; Owner: postgres
--

CREATE DATABASE tmpl WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';


ALTER DATABASE tmpl OWNER TO postgres;

\unrestrict 6m25f8GUorx6YNZsdvYxYlTrzG0DHrhfbPbSi1oVzRbhqaakwNa68gCruQlVbSQ
\connect tmpl
\restrict 6m25f8GUorx6YNZsdvYxYlTrzG0DHrhfbPbSi1oVzRbhqaakwNa68gCruQlVbSQ

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
-- Name: tmpl; Type: DATABASE PROPERTIES; Schema: -; Owner: postgres
--

ALTER DATABASE tmpl IS_TEMPLATE = true;


\unrestrict 6m25f8GUorx6YNZsdvYxYlTrzG0DHrhfbPbSi1oVzRbhqaakwNa68gCruQlVbSQ
\connect tmpl
\restrict 6m25f8GUorx6YNZsdvYxYlTrzG0DHrhfbPbSi1oVzRbhqaakwNa68gCruQlVbSQ

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
-- PostgreSQL database dump complete
--

\unrestrict 6m25f8GUorx6YNZsdvYxYlTrzG0DHrhfbPbSi1oVzRbhqaakwNa68gCruQlVbSQ

