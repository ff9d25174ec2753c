#include "demo_data.h"
#include "demo_plan.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

/* --- the networks -------------------------------------------------------------------- */

/* The regional networks are the real ones of DOMAIN.md; every national organisation is
 * fictional. Weights: how many claims, deportations and recommendations each logs. */
const struct demo_org demo_orgs[] = {
    {"MFA", "Migrant Forum in Asia", KIND(NETWORK), "PH", 0, 0, 24},
    {"TF-AMW", "Task Force on ASEAN Migrant Workers", KIND(NETWORK), "SG", 0, 0, 24},
    {"MMN", "Mekong Migration Network", KIND(NETWORK), "HK", 0, 0, 14},
    {"CARAM-ASIA", "CARAM Asia", KIND(NETWORK), "MY", 0, 0, 10},
    {"WARBE", "WARBE Development Foundation", KIND(NETWORK), "BD", 0, 0, 8},
    {"MY-MRC", "Malaysian Migrant Rights Coalition", KIND(NETWORK), "MY", 0, 0, 8},
    {"MFA-SEC", "Migrant Forum in Asia Regional Secretariat", KIND(NGO), "PH", 0, 0, 0},
    {"TH-DESK", "ASEAN Migration Desk Bangkok", KIND(NGO), "TH", 0, 0, 0},
    {"KL-MWA", "Klang Valley Migrant Workers Aid", KIND(NGO), "MY", 20, 18, 3},
    {"JB-MLINK", "Johor Migrant Link", KIND(NGO), "MY", 12, 15, 0},
    {"PG-SHELTER", "Penang Migrant Shelter", KIND(FAITH_BASED), "MY", 8, 8, 0},
    {"MY-PFWU", "Plantation and Factory Workers Union of Malaysia", KIND(TRADE_UNION), "MY", 10, 0,
     2},
    {"MS-MWRC", "Mae Sot Migrant Workers Rights Centre", KIND(NGO), "TH", 15, 18, 3},
    {"CM-LAM", "Chiang Mai Legal Aid for Migrants", KIND(NGO), "TH", 6, 10, 0},
    {"TH-FLS", "Federation of Labour Solidarity Thailand", KIND(TRADE_UNION), "TH", 6, 0, 1},
    {"SG-MCS", "Migrant Care Society Singapore", KIND(NGO), "SG", 12, 5, 2},
    {"PH-RWC", "Returned Workers Centre Philippines", KIND(NGO), "PH", 5, 0, 3},
    {"KH-MLRC", "Cambodian Migrant Labour Rights Centre", KIND(NGO), "KH", 4, 5, 0},
    {"BD-MLA", "Bangladesh Migrant Legal Aid", KIND(NGO), "BD", 6, 0, 1},
    {"BD-RMA", "Returnee Migrants Association Bangladesh", KIND(MIGRANT_ASSOCIATION), "BD", 3, 6,
     0},
    {"BD-PCAUCUS", "Bangladesh Parliamentarians' Caucus on Labour Migration",
     KIND(PARLIAMENTARY_CAUCUS), "BD", 0, 0, 4},
    {"ID-SPMN", "Serikat Pekerja Migran Nusantara", KIND(TRADE_UNION), "ID", 5, 3, 1},
    {"MM-YMSG", "Yangon Migrant Support Group", KIND(NGO), "MM", 3, 6, 0},
    {"NP-SMC", "Safe Migration Centre Nepal", KIND(NGO), "NP", 5, 2, 1},
    {"MMN-RI", "Mekong Migration Research Institute", KIND(RESEARCH_INSTITUTE), "TH", 0, 0, 2},
};
const size_t demo_n_orgs = N_ELEMS(demo_orgs);

/* Networks that are members of networks: WARBE, CARAM Asia, MMN and a national coalition
 * belong to MFA, and the coalition's members are so MFA's at depth 2. */
const struct demo_membership demo_memberships[] = {
    {"MFA-SEC", "MFA", MROLE(SECRETARIAT), "2006-01-01", false, NULL},
    {"WARBE", "MFA", MROLE(MEMBER), "2008-03-01", true, NULL},
    {"CARAM-ASIA", "MFA", MROLE(PARTNER), "2005-06-01", false, NULL},
    {"MMN", "MFA", MROLE(PARTNER), "2010-09-01", false, NULL},
    {"MY-MRC", "MFA", MROLE(MEMBER), "2015-04-01", true, NULL},
    {"PH-RWC", "MFA", MROLE(MEMBER), "2009-02-01", true, NULL},
    {"BD-MLA", "MFA", MROLE(MEMBER), "2012-07-01", true, NULL},
    {"NP-SMC", "MFA", MROLE(MEMBER), "2011-05-01", true, NULL},
    {"ID-SPMN", "MFA", MROLE(MEMBER), "2013-10-01", true, NULL},
    {"KH-MLRC", "MFA", MROLE(MEMBER), "2016-03-01", true, NULL},
    {"SG-MCS", "MFA", MROLE(MEMBER), "2014-01-15", true, NULL},
    {"MY-PFWU", "MFA", MROLE(PARTNER), "2018-08-01", false, NULL},
    {"BD-PCAUCUS", "MFA", MROLE(PARTNER), "2017-12-01", false, NULL},
    {"MS-MWRC", "MFA", MROLE(MEMBER), "2012-05-01", true, NULL},
    {"TH-DESK", "TF-AMW", MROLE(SECRETARIAT), "2008-01-01", false, NULL},
    {"KL-MWA", "TF-AMW", MROLE(FOCAL_POINT), "2010-01-01", true, NULL},
    {"MS-MWRC", "TF-AMW", MROLE(FOCAL_POINT), "2010-01-01", true, NULL},
    {"PH-RWC", "TF-AMW", MROLE(FOCAL_POINT), "2011-06-01", true, NULL},
    {"KH-MLRC", "TF-AMW", MROLE(FOCAL_POINT), "2012-02-01", true, NULL},
    {"ID-SPMN", "TF-AMW", MROLE(FOCAL_POINT), "2012-02-01", true, NULL},
    {"MM-YMSG", "TF-AMW", MROLE(FOCAL_POINT), "2014-09-01", true, NULL},
    {"SG-MCS", "TF-AMW", MROLE(FOCAL_POINT), "2013-03-01", true, NULL},
    {"MS-MWRC", "MMN", MROLE(MEMBER), "2004-11-01", true, NULL},
    {"CM-LAM", "MMN", MROLE(MEMBER), "2009-04-01", true, NULL},
    {"KH-MLRC", "MMN", MROLE(MEMBER), "2007-08-01", true, NULL},
    {"MM-YMSG", "MMN", MROLE(MEMBER), "2013-01-01", true, NULL},
    {"MMN-RI", "MMN", MROLE(MEMBER), "2006-05-01", false, NULL},
    {"TH-FLS", "MMN", MROLE(PARTNER), "2016-10-01", false, NULL},
    {"KL-MWA", "CARAM-ASIA", MROLE(MEMBER), "2003-01-01", true, NULL},
    {"NP-SMC", "CARAM-ASIA", MROLE(MEMBER), "2008-06-01", true, NULL},
    {"BD-MLA", "CARAM-ASIA", MROLE(MEMBER), "2010-03-01", true, NULL},
    {"JB-MLINK", "CARAM-ASIA", MROLE(MEMBER), "2017-05-01", true, NULL},
    {"PG-SHELTER", "CARAM-ASIA", MROLE(MEMBER), "2012-01-01", true, "2022-12-31"},
    {"BD-RMA", "WARBE", MROLE(MEMBER), "2014-02-01", true, NULL},
    {"BD-MLA", "WARBE", MROLE(MEMBER), "2011-09-01", true, NULL},
    {"KL-MWA", "MY-MRC", MROLE(MEMBER), "2015-04-01", true, NULL},
    {"JB-MLINK", "MY-MRC", MROLE(MEMBER), "2015-04-01", true, NULL},
    {"PG-SHELTER", "MY-MRC", MROLE(MEMBER), "2016-02-01", true, NULL},
    {"MY-PFWU", "MY-MRC", MROLE(MEMBER), "2019-07-01", true, NULL},
};
const size_t demo_n_memberships = N_ELEMS(demo_memberships);

const struct demo_office demo_offices[] = {
    {"MFA-SEC", "Manila secretariat", "Manila", "PH"},
    {"TH-DESK", "Bangkok desk", "Bangkok", "TH"},
    {"MMN", "Hong Kong office", "Hong Kong", "HK"},
    {"MMN", "Chiang Mai office", "Chiang Mai", "TH"},
    {"CARAM-ASIA", "Kuala Lumpur office", "Kuala Lumpur", "MY"},
    {"WARBE", "Dhaka office", "Dhaka", "BD"},
    {"KL-MWA", "Kuala Lumpur drop-in centre", "Kuala Lumpur", "MY"},
    {"KL-MWA", "Klang field office", "Klang", "MY"},
    {"JB-MLINK", "Johor Bahru field office", "Johor Bahru", "MY"},
    {"PG-SHELTER", "Penang shelter", "George Town", "MY"},
    {"MY-PFWU", "Kuala Lumpur office", "Kuala Lumpur", "MY"},
    {"MY-PFWU", "Penang branch", "Bayan Lepas", "MY"},
    {"MS-MWRC", "Mae Sot centre", "Mae Sot", "TH"},
    {"MS-MWRC", "Bangkok office", "Bangkok", "TH"},
    {"CM-LAM", "Chiang Mai legal clinic", "Chiang Mai", "TH"},
    {"TH-FLS", "Bangkok office", "Bangkok", "TH"},
    {"TH-FLS", "Samut Sakhon branch", "Samut Sakhon", "TH"},
    {"SG-MCS", "Singapore help desk", "Singapore", "SG"},
    {"PH-RWC", "Manila office", "Manila", "PH"},
    {"PH-RWC", "Cebu office", "Cebu City", "PH"},
    {"KH-MLRC", "Phnom Penh office", "Phnom Penh", "KH"},
    {"KH-MLRC", "Battambang office", "Battambang", "KH"},
    {"BD-MLA", "Dhaka legal desk", "Dhaka", "BD"},
    {"BD-RMA", "Dhaka office", "Dhaka", "BD"},
    {"BD-RMA", "Cumilla office", "Cumilla", "BD"},
    {"BD-PCAUCUS", "Dhaka office", "Dhaka", "BD"},
    {"ID-SPMN", "Jakarta office", "Jakarta", "ID"},
    {"MM-YMSG", "Yangon office", "Yangon", "MM"},
    {"NP-SMC", "Kathmandu office", "Kathmandu", "NP"},
    {"MMN-RI", "Chiang Mai office", "Chiang Mai", "TH"},
};
const size_t demo_n_offices = N_ELEMS(demo_offices);

/* Every currency a claim's amounts are in (the destinations' below), in US dollars, from
 * before the first claim: rough figures of the 2020s, for the demo's reports only. */
const struct demo_rate demo_rates[] = {
    {"MYR", "USD", "0.2150", "2020-01-01"},
    {"THB", "USD", "0.0290", "2020-01-01"},
    {"SGD", "USD", "0.7400", "2020-01-01"},
};
const size_t demo_n_rates = N_ELEMS(demo_rates);

size_t demo_org_index(const char *acronym)
{
	for (size_t i = 0; i < demo_n_orgs; i++) {
		if (strcmp(demo_orgs[i].acronym, acronym) == 0)
			return i;
	}
	return DEMO_NO_ORG;
}

/* --- keys and the generator ---------------------------------------------------------- */

void demo_key(const char *label, uint8_t key[DEMO_KEY_BYTES])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	/* SHA-256 of a short string cannot fail short of memory exhaustion in OpenSSL's
	 * default provider; a zero digest would still be a valid (if shared) key. */
	memset(digest, 0, sizeof(digest));
	if (EVP_Digest(label, strlen(label), digest, &len, EVP_sha256(), NULL) != 1)
		len = 0;
	memcpy(key, digest, DEMO_KEY_BYTES);
}

void rng_init(struct rng *r, uint64_t seed, const char *kind, size_t n)
{
	char label[96];
	uint8_t key[DEMO_KEY_BYTES];
	snprintf(label, sizeof(label), "tulay-demo/%llu/%s/%zu/rng", (unsigned long long)seed, kind,
		 n);
	demo_key(label, key);
	r->s = 0;
	for (int i = 0; i < 8; i++)
		r->s = r->s << 8 | key[i];
	if (r->s == 0)
		r->s = 0x9e3779b97f4a7c15u;
}

uint64_t rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1du;
}

/* A number in [lo, hi]. */
int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* True `percent` times in a hundred. */
bool rng_chance(struct rng *r, unsigned percent)
{
	return rng_next(r) % 100 < percent;
}

/* An index in [0, n) with the given weights (not all zero). */
size_t rng_weighted(struct rng *r, const unsigned *weights, size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += weights[i];
	uint64_t x = rng_next(r) % total;
	for (size_t i = 0; i < n; i++) {
		if (x < weights[i])
			return i;
		x -= weights[i];
	}
	return n - 1;
}

/* One of the offices of organisation `org` in `country` (the first one more often), else
 * its first office, else NULL. */
const char *office_in(struct rng *r, size_t org, const char *country)
{
	const char *first = NULL, *chosen = NULL;
	for (size_t i = 0; i < demo_n_offices; i++) {
		if (strcmp(demo_offices[i].org, demo_orgs[org].acronym) != 0)
			continue;
		if (first == NULL)
			first = demo_offices[i].name;
		if (strcmp(demo_offices[i].country, country) == 0 &&
		    (chosen == NULL || rng_chance(r, 35)))
			chosen = demo_offices[i].name;
	}
	return chosen != NULL ? chosen : first;
}

/* An organisation by one of its weights (offsetof the weight in struct demo_org). */
size_t pick_org(struct rng *r, size_t weight_offset)
{
	unsigned weights[N_ELEMS(demo_orgs)];
	for (size_t i = 0; i < demo_n_orgs; i++)
		memcpy(&weights[i], (const char *)&demo_orgs[i] + weight_offset, sizeof(unsigned));
	return rng_weighted(r, weights, demo_n_orgs);
}

/* --- dates --------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms). */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y_out, unsigned *m_out, unsigned *d_out)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	*y_out = (int)(y + (m <= 2));
	*m_out = m;
	*d_out = d;
}

void format_date(char out[11], int64_t day, enum precision p)
{
	int y;
	unsigned m, d;
	civil_from_days(day, &y, &m, &d);
	/* Every day of the data set is in 2003-2026; the remainders only tell the compiler
	 * that the text fits. */
	unsigned yy = (unsigned)y % 10000u, mm = m % 100u, dd = d % 100u;
	if (p == YEAR)
		snprintf(out, 11, "%04u", yy);
	else if (p == MONTH)
		snprintf(out, 11, "%04u-%02u", yy, mm);
	else
		snprintf(out, 11, "%04u-%02u-%02u", yy, mm, dd);
}

/* Every date of the data set is on or before this one, so none is in the future. It is
 * fixed, not today: the data set must not change with the day it is loaded. */
static int64_t latest_day(void)
{
	return days_from_civil(2026, 11, 30);
}

static int64_t clamp_day(int64_t day)
{
	return day > latest_day() ? latest_day() : day;
}

/* --- countries and corridors --------------------------------------------------------- */

struct destination {
	const char *country;
	const char *currency;
	int64_t wage_lo, wage_hi; /* monthly, minor units */
	const char *origins[6];
	unsigned origin_weights[6];
	unsigned sector_weights[10]; /* by Sector value */
	const char *employer_words[6];
	const char *cities[8];
	const char *detention[5];
};

static const struct destination destinations[] = {
    {"MY",
     "MYR",
     150000,
     220000,
     {"BD", "NP", "ID", "MM", "PH", "KH"},
     {25, 20, 25, 15, 8, 7},
     {0, 25, 20, 3, 25, 12, 8, 0, 10, 0},
     {"Contoh", "Contoh Jaya", "Contoh Maju", "Contoh Bersatu", "Contoh Utama", "Contoh Timur"},
     {"Kuala Lumpur", "Klang", "Kajang", "Johor Bahru", "Penang", "Seremban", "Kota Kinabalu",
      "Sandakan"},
     {"Immigration depot, Semenyih", "Immigration depot, Bukit Jalil",
      "Immigration depot, Pekan Nenas", "Immigration depot, Juru", "Police lock-up, Klang"}},
    {"TH",
     "THB",
     1000000,
     1250000,
     {"MM", "KH", "LA"},
     {55, 30, 15},
     {0, 18, 20, 22, 25, 8, 5, 0, 2, 0},
     {"Siam", "Andaman", "Lanna", "Mekong", "Chao Phraya", "Isan"},
     {"Mae Sot", "Bangkok", "Samut Sakhon", "Chiang Mai", "Ranong", "Songkhla"},
     {"Immigration detention centre, Bangkok", "Immigration detention centre, Mae Sot",
      "Immigration detention centre, Ranong", "Police station cell, Samut Sakhon"}},
    {"SG",
     "SGD",
     60000,
     160000,
     {"BD", "PH", "MM", "ID"},
     {35, 25, 20, 20},
     {0, 35, 0, 3, 15, 25, 5, 5, 15, 0},
     {"Harbour", "Lion", "Straits", "Orchid", "Eastern", "Kranji"},
     {"Singapore"},
     {"Immigration holding centre, Singapore"}},
};

struct origin {
	const char *country;
	const char *partner; /* the organisation a destination NGO refers cases to */
	const char *fee_currency;
	int64_t fee_lo, fee_hi; /* major units */
	const char *agency_prefix, *agency_suffix;
};

static const struct origin origins[] = {
    {"BD", "BD-MLA", "BDT", 250000, 550000, "Sample Overseas Recruiting Agency", "Dhaka"},
    {"NP", "NP-SMC", "NPR", 80000, 200000, "Sample Manpower Services", "Kathmandu"},
    {"ID", "ID-SPMN", "IDR", 5000000, 25000000, "PT Penyalur Tenaga Kerja Contoh", "Jakarta"},
    {"MM", "MM-YMSG", "MMK", 800000, 2500000, "Sample Overseas Employment Agency", "Yangon"},
    {"PH", "PH-RWC", "PHP", 0, 40000, "Sample Manpower Placement", "Manila"},
    {"KH", "KH-MLRC", "USD", 300, 900, "Sample Recruitment", "Phnom Penh"},
    {"LA", NULL, "LAK", 5000000, 15000000, "Sample Labour Services", "Vientiane"},
};

static const struct destination *destination_of(const char *country)
{
	for (size_t i = 0; i < N_ELEMS(destinations); i++) {
		if (strcmp(destinations[i].country, country) == 0)
			return &destinations[i];
	}
	return NULL;
}

static const struct origin *origin_of(const char *country)
{
	for (size_t i = 0; i < N_ELEMS(origins); i++) {
		if (strcmp(origins[i].country, country) == 0)
			return &origins[i];
	}
	return NULL;
}

/* A destination that workers from `origin` go to. */
static const struct destination *destination_for(struct rng *r, const char *origin)
{
	unsigned weights[N_ELEMS(destinations)];
	for (size_t i = 0; i < N_ELEMS(destinations); i++) {
		weights[i] = 0;
		for (size_t j = 0; j < N_ELEMS(destinations[i].origins); j++) {
			const char *o = destinations[i].origins[j];
			if (o != NULL && strcmp(o, origin) == 0)
				weights[i] = destinations[i].origin_weights[j];
		}
	}
	return &destinations[rng_weighted(r, weights, N_ELEMS(destinations))];
}

static const char *origin_for(struct rng *r, const struct destination *dest)
{
	size_t n = 0;
	while (n < N_ELEMS(dest->origins) && dest->origins[n] != NULL)
		n++;
	return dest->origins[rng_weighted(r, dest->origin_weights, n)];
}

/* Where a case comes from: the organisation that logs it, at one of its offices, and the
 * migration it is about. An organisation in a destination country meets people from one of
 * its origins; one in an origin country (origin_org) meets people back home from one of
 * their destinations. */
struct case_origin {
	size_t org;
	bool origin_org;
	const struct destination *dest; /* where the person worked */
	const char *nationality;
	const char *office;
};

/* The origin of a case whose organisation is picked by the weight at `weight_offset` in
 * struct demo_org (pick_org). */
static struct case_origin case_origin_for(struct rng *r, size_t weight_offset)
{
	struct case_origin o = {.org = pick_org(r, weight_offset)};
	const char *home = demo_orgs[o.org].country;
	o.dest = destination_of(home);
	o.origin_org = o.dest == NULL;
	if (!o.origin_org) {
		o.nationality = origin_for(r, o.dest);
	} else {
		o.nationality = home;
		o.dest = destination_for(r, home);
	}
	o.office = office_in(r, o.org, home);
	return o;
}

/* Workers from these countries are mostly women in domestic work in Malaysia and
 * Singapore. */
static bool domestic_heavy(const char *origin)
{
	return strcmp(origin, "PH") == 0 || strcmp(origin, "ID") == 0 || strcmp(origin, "KH") == 0;
}

static Tulay__V1__Sector sector_for(struct rng *r, const struct destination *dest,
				    const char *origin)
{
	if (strcmp(dest->country, "TH") != 0 && domestic_heavy(origin) && rng_chance(r, 50))
		return SECTOR(DOMESTIC_WORK);
	return (Tulay__V1__Sector)rng_weighted(r, dest->sector_weights,
					       N_ELEMS(dest->sector_weights));
}

/* A fictional employer of `sector` in `dest`: "Syarikat Bina Contoh Jaya Sdn Bhd". */
static void employer_for(struct rng *r, const struct destination *dest, Tulay__V1__Sector sector,
			 char *out, size_t cap)
{
	static const char *const my[] = {
	    "", "Syarikat Bina", "Ladang Sawit", "Perikanan",           "Kilang Elektronik",
	    "", "Hotel",         "Pusat Jagaan", "Khidmat Pembersihan", "Syarikat"};
	static const char *const th[] = {"", "Construction", "Farm", "Seafood",  "Garment",
					 "", "Resort",       "Care", "Services", "Trading"};
	static const char *const sg[] = {
	    "", "Builders", "Nursery",      "Marine Services",   "Precision Engineering",
	    "", "Hotel",    "Nursing Home", "Cleaning Services", "Trading"};
	const char *word = PICK(r, dest->employer_words);
	if (sector == SECTOR(DOMESTIC_WORK)) {
		size_t n = 0;
		while (n < N_ELEMS(dest->cities) && dest->cities[n] != NULL)
			n++;
		snprintf(out, cap, "Private household, %s", dest->cities[rng_next(r) % n]);
	} else if (strcmp(dest->country, "MY") == 0) {
		snprintf(out, cap, "%s %s Sdn Bhd", my[sector], word);
	} else if (strcmp(dest->country, "TH") == 0) {
		snprintf(out, cap, "Tua Yang %s %s Co., Ltd.", word, th[sector]);
	} else {
		snprintf(out, cap, "Sample %s %s Pte Ltd", word, sg[sector]);
	}
}

/* --- texts: nothing in them names or describes a person ------------------------------ */

static const char *const claim_notes[] = {
    "Payslips and the work contract copied at the drop-in centre.",
    "Employer did not attend the first mediation session.",
    "Group meeting held; the workers agreed to pursue the claim together.",
    "Labour office asked for proof of the hours worked; timesheets submitted.",
    "Embassy labour attache informed of the claim.",
    "Agency refused to refund the recruitment fee; complaint drafted.",
    "Hearing postponed at the employer's request.",
    "Interpreter arranged for the next hearing.",
    "Settlement offer received, below the amount claimed; declined.",
    "Bank statements show wages paid late and in part.",
};
static const char *const reject_reasons[] = {
    "Dismissed: the forum found the evidence of hours worked insufficient.",
    "Dismissed as filed after the limitation period.",
    "Dismissed: the employer company was wound up.",
};
static const char *const withdraw_reasons[] = {
    "Withdrawn after a settlement outside the forum.",
    "Withdrawn: no contact after repatriation.",
    "Withdrawn on request; the claim may be reopened later.",
};
static const char *const intervention_texts[] = {
    "",
    "Detention visit: access to a lawyer and to family contact requested.",
    "Letter to the immigration department about conditions in detention.",
    "Embassy asked to issue travel documents and to check on wages owed.",
    "Legal aid lawyer attended the remand hearing.",
    "Airport reception and transport home arranged with the partner organisation.",
    "Case raised at the monthly meeting with the labour department.",
};
static const char *const referral_reasons[] = {
    "Repatriated before the claim was settled; the partner follows up at home.",
    "The claim continues with the origin-country authority; documents shared with consent.",
    "Support needed after return: legal follow-up and reintegration.",
};
static const char *const accept_reasons[] = {
    "Our office will follow up with the origin-country authority.",
    "Accepted; a caseworker is assigned.",
};
static const char *const decline_reasons[] = {
    "Outside our area of work; please refer to the national returnee desk.",
    "We cannot take new cases this quarter.",
};

/* --- claims -------------------------------------------------------------------------- */

void add_step(struct demo_step *steps, size_t *n, enum demo_step_kind kind, int to,
	      int64_t *version, int64_t day, const char *text)
{
	if (*n == DEMO_MAX_STEPS)
		return;
	struct demo_step *s = &steps[(*n)++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->to = to;
	s->expected_version = *version;
	s->text = text;
	s->awarded = -1;
	s->recovered = -1;
	format_date(s->on, clamp_day(day), DAY);
	/* Notes and interventions leave the version as it is; everything else bumps it. */
	if (kind != DEMO_STEP_NOTE && kind != DEMO_STEP_INTERVENTION)
		(*version)++;
}

static void claim_referral(struct rng *r, struct demo_claim *c, int64_t day)
{
	c->referral.to_org = DEMO_NO_ORG;
	const struct origin *o = origin_of(c->nationality);
	if (o == NULL || o->partner == NULL || destination_of(demo_orgs[c->org].country) == NULL)
		return;
	bool repatriated = false;
	for (size_t i = 0; i < c->n_means; i++)
		repatriated |= c->means[i] == MEANS(REPATRIATED_UNPAID);
	if (!repatriated && !rng_chance(r, 12))
		return;
	c->referral.to_org = demo_org_index(o->partner);
	format_date(c->referral.consent_on, clamp_day(day), DAY);
	static const unsigned forms[] = {0, 50, 30, 20};
	c->referral.consent_form = (Tulay__V1__ConsentForm)rng_weighted(r, forms, N_ELEMS(forms));
	c->referral.reason = PICK(r, referral_reasons);
	static const unsigned decisions[] = {20, 65, 15};
	c->referral.decision =
	    (Tulay__V1__ReferralDecision)rng_weighted(r, decisions, N_ELEMS(decisions));
	c->referral.decision_reason = c->referral.decision == DECIDE(DECLINE)
					  ? PICK(r, decline_reasons)
					  : PICK(r, accept_reasons);
}

void demo_claim_plan(uint64_t seed, size_t n, struct demo_claim *c)
{
	struct rng r;
	rng_init(&r, seed, "claim", n);
	memset(c, 0, sizeof(*c));
	/* An origin-country organisation logs the claims of returned workers. */
	const struct case_origin from = case_origin_for(&r, offsetof(struct demo_org, claims));
	const struct destination *dest = from.dest;
	c->org = from.org;
	c->nationality = from.nationality;
	c->country_of_work = dest->country;
	c->office = from.office;
	c->sector = sector_for(&r, dest, c->nationality);
	employer_for(&r, dest, c->sector, c->employer, sizeof(c->employer));

	/* Most claims are of wages lost recently: half in the first half of 2026, the year a
	 * coordinator reports on (README, "a network's report"), a third in 2025, the rest in
	 * 2021-2024. */
	static const unsigned eras[] = {50, 30, 20};
	int64_t end;
	switch (rng_weighted(&r, eras, N_ELEMS(eras))) {
	case 0:
		end = days_from_civil(2026, 1, 1) + rng_range(&r, 0, 180);
		break;
	case 1:
		end = days_from_civil(2025, 1, 1) + rng_range(&r, 0, 364);
		break;
	default:
		end = days_from_civil(2021, 1, 1) + rng_range(&r, 0, 1460);
		break;
	}
	int64_t start = end - rng_range(&r, 90, 900);
	format_date(c->work_started_on, start, DAY);
	format_date(c->work_ended_on, end, DAY);

	c->currency = dest->currency;
	int64_t wage = rng_range(&r, dest->wage_lo, dest->wage_hi) / 100 * 100;
	if (c->sector == SECTOR(DOMESTIC_WORK))
		wage = wage * 4 / 5 / 100 * 100;
	c->workers = rng_chance(&r, 12) ? (uint32_t)rng_range(&r, 5, 60) : 1;
	int64_t months = rng_range(&r, 1, 10);
	c->amount_claimed = wage * months * c->workers * (100 + rng_range(&r, 0, 30)) / 100;
	c->contract_wage = c->actual_wage = -1;
	if (rng_chance(&r, 70)) {
		c->contract_wage = wage;
		c->actual_wage = wage * rng_range(&r, 0, 70) / 100 / 100 * 100;
	}
	if (c->workers == 1 && rng_chance(&r, 30)) {
		snprintf(c->worker_name, sizeof(c->worker_name), "Worker %04zu", n + 1);
		if (rng_chance(&r, 50))
			snprintf(c->worker_id_number, sizeof(c->worker_id_number), "DEMO-%06zu",
				 n + 1);
	}
	const struct origin *o = origin_of(c->nationality);
	c->recruitment_fee = -1;
	if (o != NULL && rng_chance(&r, 60)) {
		snprintf(c->agency, sizeof(c->agency), "%s %c, %s", o->agency_prefix,
			 (char)('A' + rng_range(&r, 0, 5)), o->agency_suffix);
		c->recruitment_fee = rng_range(&r, o->fee_lo, o->fee_hi) / 100 * 10000;
		c->fee_currency = o->fee_currency;
	}
	bool origin_org = from.origin_org;
	static const unsigned dest_forums[] = {0, 25, 30, 10, 20, 0, 5, 2};
	static const unsigned origin_forums[] = {0, 0, 0, 20, 0, 45, 30, 5};
	if (rng_chance(&r, 80))
		c->forum = (Tulay__V1__ClaimForum)(origin_org ? rng_weighted(&r, origin_forums, 8)
							      : rng_weighted(&r, dest_forums, 8));
	if (rng_chance(&r, 40))
		format_date(c->filing_deadline, end + rng_range(&r, 180, 720), DAY);
	unsigned means_weights[] = {0, 20, 8, 25, 10, 10, 8, origin_org ? 30u : 6u, 3};
	size_t n_means = (size_t)rng_range(&r, 0, DEMO_MAX_MEANS);
	for (size_t i = 0; i < n_means; i++) {
		size_t m = rng_weighted(&r, means_weights, N_ELEMS(means_weights));
		means_weights[m] = 0; /* no repeats */
		c->means[c->n_means++] = (Tulay__V1__ExploitationMeans)m;
		bool any = false;
		for (size_t j = 0; j < N_ELEMS(means_weights); j++)
			any |= means_weights[j] != 0;
		if (!any)
			break;
	}

	/* Where the claim ends up, and the way there. */
	enum { INTAKE, FILED, MEDIATION, AWARDED, PART_PAID, PAID, REJECTED, WITHDRAWN };
	static const unsigned finals[] = {22, 20, 14, 10, 8, 10, 8, 8};
	size_t final = rng_weighted(&r, finals, N_ELEMS(finals));
	int64_t version = 1;
	int64_t day = end + rng_range(&r, 15, 60);
	int64_t awarded = c->amount_claimed * rng_range(&r, 50, 100) / 100;
	struct demo_step *s = c->steps;
	size_t *ns = &c->n_steps;
	if (final == WITHDRAWN) {
		if (rng_chance(&r, 50)) {
			add_step(s, ns, DEMO_STEP_CLAIM_STATUS, CLAIM(FILED), &version, day, NULL);
			day += rng_range(&r, 14, 90);
		}
		add_step(s, ns, DEMO_STEP_CLAIM_STATUS, CLAIM(WITHDRAWN), &version, day,
			 PICK(&r, withdraw_reasons));
	} else if (final != INTAKE) {
		add_step(s, ns, DEMO_STEP_CLAIM_STATUS, CLAIM(FILED), &version, day, NULL);
		day += rng_range(&r, 14, 90);
		if (final == MEDIATION || (final != FILED && rng_chance(&r, 50))) {
			add_step(s, ns, DEMO_STEP_CLAIM_STATUS, CLAIM(IN_MEDIATION), &version, day,
				 NULL);
			day += rng_range(&r, 14, 90);
		}
		if (final == REJECTED) {
			add_step(s, ns, DEMO_STEP_CLAIM_STATUS, CLAIM(REJECTED), &version, day,
				 PICK(&r, reject_reasons));
		} else if (final >= AWARDED && final <= PAID) {
			add_step(s, ns, DEMO_STEP_CLAIM_STATUS, CLAIM(AWARDED), &version, day,
				 NULL);
			add_step(s, ns, DEMO_STEP_CLAIM_AMOUNTS, 0, &version, day, NULL);
			s[*ns - 1].awarded = awarded;
			day += rng_range(&r, 14, 90);
			if (final == PART_PAID) {
				add_step(s, ns, DEMO_STEP_CLAIM_STATUS, CLAIM(PARTIALLY_PAID),
					 &version, day, NULL);
				add_step(s, ns, DEMO_STEP_CLAIM_AMOUNTS, 0, &version, day, NULL);
				s[*ns - 1].recovered = awarded * rng_range(&r, 20, 80) / 100;
			} else if (final == PAID) {
				add_step(s, ns, DEMO_STEP_CLAIM_STATUS, CLAIM(PAID), &version, day,
					 NULL);
				add_step(s, ns, DEMO_STEP_CLAIM_AMOUNTS, 0, &version, day, NULL);
				s[*ns - 1].recovered = awarded;
			}
		}
	}
	if (rng_chance(&r, 40)) { /* a follow-up note after the last change */
		day += rng_range(&r, 3, 60);
		add_step(s, ns, DEMO_STEP_NOTE, 0, &version, day, PICK(&r, claim_notes));
	}
	c->referral.to_org = DEMO_NO_ORG;
	if (final != PAID && final != REJECTED && final != WITHDRAWN)
		claim_referral(&r, c, day + rng_range(&r, 1, 30));
}

/* --- deportations -------------------------------------------------------------------- */

static void approx(struct rng *r, char out[11], int64_t day, unsigned day_percent)
{
	enum precision p = DAY;
	if (!rng_chance(r, day_percent))
		p = rng_chance(r, 80) ? MONTH : YEAR;
	format_date(out, clamp_day(day), p);
}

static void add_stage(struct rng *r, struct demo_deportation *d, int64_t *version, int stage,
		      int64_t day)
{
	add_step(d->steps, &d->n_steps, DEMO_STEP_DEPORTATION_STAGE, stage, version, day, NULL);
	struct demo_step *s = &d->steps[d->n_steps - 1];
	approx(r, s->on, day, 85);
	s->circa = rng_chance(r, 5);
}

void demo_deportation_plan(uint64_t seed, size_t n, struct demo_deportation *d)
{
	struct rng r;
	rng_init(&r, seed, "deportation", n);
	memset(d, 0, sizeof(*d));
	/* An origin-country organisation meets people deported home. */
	const struct case_origin from =
	    case_origin_for(&r, offsetof(struct demo_org, deportations));
	const struct destination *dest = from.dest;
	bool origin_org = from.origin_org;
	d->org = from.org;
	d->nationality = from.nationality;
	d->deported_from = dest->country;
	d->office = from.office;
	if (rng_chance(&r, 80))
		d->sector = sector_for(&r, dest, d->nationality);
	unsigned ground_weights[] = {0, 35, 25, 20, 5, 10, 5};
	size_t n_grounds = rng_chance(&r, 25) ? 2 : 1;
	for (size_t i = 0; i < n_grounds; i++) {
		size_t g = rng_weighted(&r, ground_weights, N_ELEMS(ground_weights));
		ground_weights[g] = 0;
		d->grounds[d->n_grounds++] = (Tulay__V1__DeportationGround)g;
	}
	bool criminal = false;
	for (size_t i = 0; i < d->n_grounds; i++)
		criminal |= d->grounds[i] == GROUND(CRIMINAL_CHARGE);

	int64_t arrested = days_from_civil(2023, 1, 1) + rng_range(&r, 0, 1095);
	approx(&r, d->arrested_on, arrested, 65);
	d->arrested_circa = rng_chance(&r, 10);
	size_t n_cities = 0;
	while (n_cities < N_ELEMS(dest->cities) && dest->cities[n_cities] != NULL)
		n_cities++;
	d->arrest_place = dest->cities[rng_next(&r) % n_cities];
	size_t n_places = 0;
	while (n_places < N_ELEMS(dest->detention) && dest->detention[n_places] != NULL)
		n_places++;
	const char *place = dest->detention[rng_next(&r) % n_places];
	Tulay__V1__DetentionType type = criminal ? DETAIN(PRISON)
					: strncmp(place, "Police", 6) == 0
					    ? DETAIN(POLICE_CELL)
					    : DETAIN(IMMIGRATION_DEPOT);
	static const unsigned counsel[] = {30, 35, 20, 10, 5};
	d->legal_counsel = (Tulay__V1__LegalCounsel)rng_weighted(&r, counsel, N_ELEMS(counsel));
	static const unsigned consular[] = {35, 40, 25};
	static const unsigned family[] = {40, 20, 40};
	d->consular_notified = (Tulay__V1__Known)rng_weighted(&r, consular, N_ELEMS(consular));
	d->family_separated = (Tulay__V1__Known)rng_weighted(&r, family, N_ELEMS(family));
	if (rng_chance(&r, 20))
		snprintf(d->person_name, sizeof(d->person_name), "Deportee %04zu", n + 1);

	enum { ARRESTED, DETAINED, RELEASED, DEPORTED };
	static const unsigned finals[] = {12, 33, 15, 40};
	size_t final = origin_org ? DEPORTED : rng_weighted(&r, finals, N_ELEMS(finals));
	int64_t version = 1;
	int64_t day = arrested;
	bool detained = false;
	if (final != ARRESTED && (origin_org || rng_chance(&r, 40))) { /* known at intake */
		day += rng_range(&r, 0, 3);
		approx(&r, d->detained_on, day, 90);
		d->detention_place = place;
		d->detention_type = type;
		detained = true;
	}
	if (!detained && (final == DETAINED || (final == DEPORTED && rng_chance(&r, 70)) ||
			  (final == RELEASED && rng_chance(&r, 60)))) {
		day += rng_range(&r, 0, 3);
		add_stage(&r, d, &version, STAGE(DETENTION), day);
		d->steps[d->n_steps - 1].place = place;
		d->steps[d->n_steps - 1].detention_type = type;
	}
	if (final == RELEASED || (final == DEPORTED && rng_chance(&r, 15))) {
		day += rng_range(&r, 7, 120);
		add_stage(&r, d, &version, STAGE(RELEASE), day);
	}
	if (final == DEPORTED) {
		day += rng_range(&r, 14, 180);
		add_stage(&r, d, &version, STAGE(DEPORTATION), day);
		d->steps[d->n_steps - 1].deported_to = d->nationality;
	}
	if (rng_chance(&r, 50)) { /* what the organisation did */
		static const unsigned kinds[] = {0, 30, 10, 30, 15, 15, 0};
		size_t k = rng_weighted(&r, kinds, N_ELEMS(kinds));
		if ((k == ACTION(REPATRIATION_SUPPORT) && final != DEPORTED) ||
		    (k == ACTION(VISIT) && final == ARRESTED))
			k = ACTION(REPRESENTATION_EMBASSY);
		int64_t when = arrested + rng_range(&r, 2, 20);
		add_step(d->steps, &d->n_steps, DEMO_STEP_INTERVENTION, (int)k, &version,
			 when > day ? when : day, intervention_texts[k]);
	}
	d->referral.to_org = DEMO_NO_ORG;
	const struct origin *o = origin_of(d->nationality);
	if (!origin_org && final == DEPORTED && o != NULL && o->partner != NULL &&
	    rng_chance(&r, 30)) {
		d->referral.to_org = demo_org_index(o->partner);
		format_date(d->referral.consent_on, clamp_day(day - rng_range(&r, 1, 10)), DAY);
		d->referral.consent_form = rng_chance(&r, 60) ? CONSENT(VERBAL) : CONSENT(WRITTEN);
		d->referral.reason = "Deported home; the partner offers reintegration support and "
				     "follows up on wages owed.";
		d->referral.decision = rng_chance(&r, 80) ? DECIDE(ACCEPT) : DECIDE(UNSPECIFIED);
		d->referral.decision_reason = PICK(&r, accept_reasons);
	}
}
