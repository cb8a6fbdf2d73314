--
-- PostgreSQL database cluster dump
--

\restrict gN3D9zXp98w261tO0UXDTcHse5ucTdtcL6OfkVqAfzQfWAbhrGmwEqdQ0hB0b7T

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;

--
-- User Configurations
--








\unrestrict gN3D9zXp98w261tO0UXDTcHse5ucTdtcL6OfkVqAfzQfWAbhrGmwEqdQ0hB0b7T

--
-- Databases
--

--
-- Database "template1" dump
--

\connect template1

--
-- PostgreSQL database dump
--

\restrict MgudZ8TBXUTq0Gjt9a4feTlq2Yoc2QHPTfdQoAtjTdgT7AtG7GH0k48DUreTX5g

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
-- PostgreSQL database dump complete
--

\unrestrict MgudZ8TBXUTq0Gjt9a4feTlq2Yoc2QHPTfdQoAtjTdgT7AtG7GH0k48DUreTX5g

--
-- Database "postgres" dump
--

\connect postgres

--
-- PostgreSQL database dump
--

\restrict g3kn2yRBH9ceabDHdFJBxY1fux31Ra7RcXWD7FZUaGHVhKcckbBBQZpJOrELGgj

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
-- PostgreSQL database dump complete
--

\unrestrict g3kn2yRBH9ceabDHdFJBxY1fux31Ra7RcXWD7FZUaGHVhKcckbBBQZpJOrELGgj

--
-- Database "shop" dump
--

--
-- PostgreSQL database dump
--

\restrict iLNbHFNDDIipgFvI5s8kv77gw9NuqadWhDipXC9WJ7rTuVDtyMNKxrgyvCrqwOd

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
-- Name: shop; Type: DATABASE; Schema: -; Owner: postgres
--

CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';


ALTER DATABASE shop OWNER TO postgres;

\unrestrict iLNbHFNDDIipgFvI5s8kv77gw9NuqadWhDipXC9WJ7rTuVDtyMNKxrgyvCrqwOd
\connect shop
\restrict iLNbHFNDDIipgFvI5s8kv77gw9NuqadWhDipXC9WJ7rTuVDtyMNKxrgyvCrqwOd

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

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: audit_empty; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.audit_empty (
    id bigint,
    at timestamp with time zone
);


ALTER TABLE public.audit_empty OWNER TO postgres;

--
-- Name: customer; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.customer (
    id integer NOT NULL,
    name text NOT NULL,
    since date
);


ALTER TABLE public.customer OWNER TO postgres;

--
-- Name: orders; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.orders (
    id integer NOT NULL,
    customer integer,
    total numeric(10,2),
    note text
);


ALTER TABLE public.orders OWNER TO postgres;

--
-- Name: orders_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.orders_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.orders_id_seq OWNER TO postgres;

--
-- Name: orders_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: postgres
--

ALTER SEQUENCE public.orders_id_seq OWNED BY public.orders.id;


--
-- Name: orders id; Type: DEFAULT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.orders ALTER COLUMN id SET DEFAULT nextval('public.orders_id_seq'::regclass);


--
-- Name: 16409; Type: BLOB; Schema: -; Owner: postgres
--

SELECT pg_catalog.lo_create('16409');


ALTER LARGE OBJECT 16409 OWNER TO postgres;

--
-- Data for Name: audit_empty; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.audit_empty (id, at) FROM stdin;
\.


--
-- Data for Name: customer; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.customer (id, name, since) FROM stdin;
1	customer 1	2024-01-02
2	customer 2	2024-01-03
3	customer 3	2024-01-04
4	customer 4	2024-01-05
5	customer 5	2024-01-06
6	customer 6	2024-01-07
7	customer 7	2024-01-08
8	customer 8	2024-01-09
9	customer 9	2024-01-10
10	customer 10	2024-01-11
11	customer 11	2024-01-12
12	customer 12	2024-01-13
13	customer 13	2024-01-14
14	customer 14	2024-01-15
15	customer 15	2024-01-16
16	customer 16	2024-01-17
17	customer 17	2024-01-18
18	customer 18	2024-01-19
19	customer 19	2024-01-20
20	customer 20	2024-01-21
21	customer 21	2024-01-22
22	customer 22	2024-01-23
23	customer 23	2024-01-24
24	customer 24	2024-01-25
25	customer 25	2024-01-26
26	customer 26	2024-01-27
27	customer 27	2024-01-28
28	customer 28	2024-01-29
29	customer 29	2024-01-30
30	customer 30	2024-01-31
31	customer 31	2024-02-01
32	customer 32	2024-02-02
33	customer 33	2024-02-03
34	customer 34	2024-02-04
35	customer 35	2024-02-05
36	customer 36	2024-02-06
37	customer 37	2024-02-07
38	customer 38	2024-02-08
39	customer 39	2024-02-09
40	customer 40	2024-02-10
\.


--
-- Data for Name: orders; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.orders (id, customer, total, note) FROM stdin;
1	2	1.25	\N
2	3	2.50	\N
3	4	3.75	\N
4	5	5.00	\N
5	6	6.25	\N
6	7	7.50	\N
7	8	8.75	tab\there, line\nbreak
8	9	10.00	\N
9	10	11.25	\N
10	11	12.50	\N
11	12	13.75	\N
12	13	15.00	\N
13	14	16.25	\N
14	15	17.50	tab\there, line\nbreak
15	16	18.75	\N
16	17	20.00	\N
17	18	21.25	\N
18	19	22.50	\N
19	20	23.75	\N
20	21	25.00	\N
21	22	26.25	tab\there, line\nbreak
22	23	27.50	\N
23	24	28.75	\N
24	25	30.00	\N
25	26	31.25	\N
26	27	32.50	\N
27	28	33.75	\N
28	29	35.00	tab\there, line\nbreak
29	30	36.25	\N
30	31	37.50	\N
31	32	38.75	\N
32	33	40.00	\N
33	34	41.25	\N
34	35	42.50	\N
35	36	43.75	tab\there, line\nbreak
36	37	45.00	\N
37	38	46.25	\N
38	39	47.50	\N
39	40	48.75	\N
40	1	50.00	\N
41	2	51.25	\N
42	3	52.50	tab\there, line\nbreak
43	4	53.75	\N
44	5	55.00	\N
45	6	56.25	\N
46	7	57.50	\N
47	8	58.75	\N
48	9	60.00	\N
49	10	61.25	tab\there, line\nbreak
50	11	62.50	\N
51	12	63.75	\N
52	13	65.00	\N
53	14	66.25	\N
54	15	67.50	\N
55	16	68.75	\N
56	17	70.00	tab\there, line\nbreak
57	18	71.25	\N
58	19	72.50	\N
59	20	73.75	\N
60	21	75.00	\N
61	22	76.25	\N
62	23	77.50	\N
63	24	78.75	tab\there, line\nbreak
64	25	80.00	\N
65	26	81.25	\N
66	27	82.50	\N
67	28	83.75	\N
68	29	85.00	\N
69	30	86.25	\N
70	31	87.50	tab\there, line\nbreak
71	32	88.75	\N
72	33	90.00	\N
73	34	91.25	\N
74	35	92.50	\N
75	36	93.75	\N
76	37	95.00	\N
77	38	96.25	tab\there, line\nbreak
78	39	97.50	\N
79	40	98.75	\N
80	1	100.00	\N
81	2	101.25	\N
82	3	102.50	\N
83	4	103.75	\N
84	5	105.00	tab\there, line\nbreak
85	6	106.25	\N
86	7	107.50	\N
87	8	108.75	\N
88	9	110.00	\N
89	10	111.25	\N
90	11	112.50	\N
91	12	113.75	tab\there, line\nbreak
92	13	115.00	\N
93	14	116.25	\N
94	15	117.50	\N
95	16	118.75	\N
96	17	120.00	\N
97	18	121.25	\N
98	19	122.50	tab\there, line\nbreak
99	20	123.75	\N
100	21	125.00	\N
101	22	126.25	\N
102	23	127.50	\N
103	24	128.75	\N
104	25	130.00	\N
105	26	131.25	tab\there, line\nbreak
106	27	132.50	\N
107	28	133.75	\N
108	29	135.00	\N
109	30	136.25	\N
110	31	137.50	\N
111	32	138.75	\N
112	33	140.00	tab\there, line\nbreak
113	34	141.25	\N
114	35	142.50	\N
115	36	143.75	\N
116	37	145.00	\N
117	38	146.25	\N
118	39	147.50	\N
119	40	148.75	tab\there, line\nbreak
120	1	150.00	\N
121	2	151.25	\N
122	3	152.50	\N
123	4	153.75	\N
124	5	155.00	\N
125	6	156.25	\N
126	7	157.50	tab\there, line\nbreak
127	8	158.75	\N
128	9	160.00	\N
129	10	161.25	\N
130	11	162.50	\N
131	12	163.75	\N
132	13	165.00	\N
133	14	166.25	tab\there, line\nbreak
134	15	167.50	\N
135	16	168.75	\N
136	17	170.00	\N
137	18	171.25	\N
138	19	172.50	\N
139	20	173.75	\N
140	21	175.00	tab\there, line\nbreak
141	22	176.25	\N
142	23	177.50	\N
143	24	178.75	\N
144	25	180.00	\N
145	26	181.25	\N
146	27	182.50	\N
147	28	183.75	tab\there, line\nbreak
148	29	185.00	\N
149	30	186.25	\N
150	31	187.50	\N
151	32	188.75	\N
152	33	190.00	\N
153	34	191.25	\N
154	35	192.50	tab\there, line\nbreak
155	36	193.75	\N
156	37	195.00	\N
157	38	196.25	\N
158	39	197.50	\N
159	40	198.75	\N
160	1	200.00	\N
161	2	201.25	tab\there, line\nbreak
162	3	202.50	\N
163	4	203.75	\N
164	5	205.00	\N
165	6	206.25	\N
166	7	207.50	\N
167	8	208.75	\N
168	9	210.00	tab\there, line\nbreak
169	10	211.25	\N
170	11	212.50	\N
171	12	213.75	\N
172	13	215.00	\N
173	14	216.25	\N
174	15	217.50	\N
175	16	218.75	tab\there, line\nbreak
176	17	220.00	\N
177	18	221.25	\N
178	19	222.50	\N
179	20	223.75	\N
180	21	225.00	\N
181	22	226.25	\N
182	23	227.50	tab\there, line\nbreak
183	24	228.75	\N
184	25	230.00	\N
185	26	231.25	\N
186	27	232.50	\N
187	28	233.75	\N
188	29	235.00	\N
189	30	236.25	tab\there, line\nbreak
190	31	237.50	\N
191	32	238.75	\N
192	33	240.00	\N
193	34	241.25	\N
194	35	242.50	\N
195	36	243.75	\N
196	37	245.00	tab\there, line\nbreak
197	38	246.25	\N
198	39	247.50	\N
199	40	248.75	\N
200	1	250.00	\N
\.


--
-- Name: orders_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.orders_id_seq', 200, true);


--
-- Data for Name: BLOBS; Type: BLOBS; Schema: -; Owner: -
--

BEGIN;

SELECT pg_catalog.lo_open('16409', 131072);
SELECT pg_catalog.lowrite(0, '\x6c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f6164206c61726765206f626a656374207061796c6f616420');
SELECT pg_catalog.lo_close(0);

COMMIT;

--
-- Name: customer customer_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.customer
    ADD CONSTRAINT customer_pkey PRIMARY KEY (id);


--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);


--
-- Name: orders orders_customer_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_customer_fkey FOREIGN KEY (customer) REFERENCES public.customer(id);


--
-- PostgreSQL database dump complete
--

\unrestrict iLNbHFNDDIipgFvI5s8kv77gw9NuqadWhDipXC9WJ7rTuVDtyMNKxrgyvCrqwOd

--
-- PostgreSQL database cluster dump complete
--

