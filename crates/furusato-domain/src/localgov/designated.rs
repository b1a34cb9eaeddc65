//! The 20 政令指定都市 (designated cities) and their 行政区 (wards), as 5-digit codes.
//!
//! Facts from 総務省「都道府県コード及び市区町村コード」（令和6年1月1日現在）, which is still
//! current in 2026 (no change since 2024-01-01). 浜松市 lists only its three wards of
//! 2024-01-01 (中央区 22138, 浜名区 22139, 天竜区 22140); the codes of its seven former wards
//! (22131–22137, abolished on that day) are not wards here.
//!
//! 出典：総務省『都道府県コード及び市区町村コード』（令和6年1月1日現在）を加工して作成

/// A designated city (政令指定都市) and its wards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesignatedCity {
    /// The city's 5-digit code ("04100" 仙台市).
    pub code5: &'static str,
    /// The city's name ("仙台市").
    pub name: &'static str,
    /// The 5-digit codes of its wards ("04101" 青葉区 …), ascending.
    pub wards: &'static [&'static str],
}

/// All 20 designated cities, in code order (171 wards in all).
pub const DESIGNATED_CITIES: [DesignatedCity; 20] = [
    DesignatedCity {
        code5: "01100",
        name: "札幌市",
        wards: &[
            "01101", "01102", "01103", "01104", "01105", "01106", "01107", "01108", "01109",
            "01110",
        ],
    },
    DesignatedCity {
        code5: "04100",
        name: "仙台市",
        wards: &["04101", "04102", "04103", "04104", "04105"],
    },
    DesignatedCity {
        code5: "11100",
        name: "さいたま市",
        wards: &[
            "11101", "11102", "11103", "11104", "11105", "11106", "11107", "11108", "11109",
            "11110",
        ],
    },
    DesignatedCity {
        code5: "12100",
        name: "千葉市",
        wards: &["12101", "12102", "12103", "12104", "12105", "12106"],
    },
    DesignatedCity {
        code5: "14100",
        name: "横浜市",
        wards: &[
            "14101", "14102", "14103", "14104", "14105", "14106", "14107", "14108", "14109",
            "14110", "14111", "14112", "14113", "14114", "14115", "14116", "14117", "14118",
        ],
    },
    DesignatedCity {
        code5: "14130",
        name: "川崎市",
        wards: &[
            "14131", "14132", "14133", "14134", "14135", "14136", "14137",
        ],
    },
    DesignatedCity {
        code5: "14150",
        name: "相模原市",
        wards: &["14151", "14152", "14153"],
    },
    DesignatedCity {
        code5: "15100",
        name: "新潟市",
        wards: &[
            "15101", "15102", "15103", "15104", "15105", "15106", "15107", "15108",
        ],
    },
    DesignatedCity {
        code5: "22100",
        name: "静岡市",
        wards: &["22101", "22102", "22103"],
    },
    DesignatedCity {
        code5: "22130",
        name: "浜松市",
        wards: &["22138", "22139", "22140"],
    },
    DesignatedCity {
        code5: "23100",
        name: "名古屋市",
        wards: &[
            "23101", "23102", "23103", "23104", "23105", "23106", "23107", "23108", "23109",
            "23110", "23111", "23112", "23113", "23114", "23115", "23116",
        ],
    },
    DesignatedCity {
        code5: "26100",
        name: "京都市",
        wards: &[
            "26101", "26102", "26103", "26104", "26105", "26106", "26107", "26108", "26109",
            "26110", "26111",
        ],
    },
    DesignatedCity {
        code5: "27100",
        name: "大阪市",
        wards: &[
            "27102", "27103", "27104", "27106", "27107", "27108", "27109", "27111", "27113",
            "27114", "27115", "27116", "27117", "27118", "27119", "27120", "27121", "27122",
            "27123", "27124", "27125", "27126", "27127", "27128",
        ],
    },
    DesignatedCity {
        code5: "27140",
        name: "堺市",
        wards: &[
            "27141", "27142", "27143", "27144", "27145", "27146", "27147",
        ],
    },
    DesignatedCity {
        code5: "28100",
        name: "神戸市",
        wards: &[
            "28101", "28102", "28105", "28106", "28107", "28108", "28109", "28110", "28111",
        ],
    },
    DesignatedCity {
        code5: "33100",
        name: "岡山市",
        wards: &["33101", "33102", "33103", "33104"],
    },
    DesignatedCity {
        code5: "34100",
        name: "広島市",
        wards: &[
            "34101", "34102", "34103", "34104", "34105", "34106", "34107", "34108",
        ],
    },
    DesignatedCity {
        code5: "40100",
        name: "北九州市",
        wards: &[
            "40101", "40103", "40105", "40106", "40107", "40108", "40109",
        ],
    },
    DesignatedCity {
        code5: "40130",
        name: "福岡市",
        wards: &[
            "40131", "40132", "40133", "40134", "40135", "40136", "40137",
        ],
    },
    DesignatedCity {
        code5: "43100",
        name: "熊本市",
        wards: &["43101", "43102", "43103", "43104", "43105"],
    },
];
