import type { FeatureCollection, LineString, Point, Polygon } from 'geojson';

/**
 * An approximate vector outline of Paris, drawn for dronewatch from public knowledge of the city (the city limit
 * along the boulevard périphérique and around the Bois de Boulogne and Bois de Vincennes, the Seine, a few
 * landmarks). Accurate to about a hundred metres: enough to see where a drone or an alert is without any tile server,
 * which police networks often cannot reach. Coordinates are GeoJSON [lon, lat].
 */
export const PARIS_LIMIT: Polygon = {
  type: 'Polygon',
  coordinates: [[
    [2.2790, 48.8790], [2.2920, 48.8855], [2.3010, 48.8895], [2.3130, 48.8950], [2.3290, 48.8990], [2.3445, 48.9005],
    [2.3600, 48.9015], [2.3700, 48.9010], [2.3860, 48.8990], [2.3950, 48.8895], [2.4060, 48.8775], [2.4100, 48.8650],
    [2.4115, 48.8530], [2.4135, 48.8470], [2.4165, 48.8460], [2.4330, 48.8445], [2.4470, 48.8430], [2.4630, 48.8420],
    [2.4699, 48.8380], [2.4660, 48.8290], [2.4570, 48.8215], [2.4400, 48.8180], [2.4230, 48.8210], [2.4120, 48.8250],
    [2.4020, 48.8260], [2.3930, 48.8270], [2.3790, 48.8230], [2.3700, 48.8215], [2.3640, 48.8200], [2.3595, 48.8185],
    [2.3500, 48.8160], [2.3420, 48.8170], [2.3310, 48.8190], [2.3250, 48.8220], [2.3140, 48.8245], [2.3050, 48.8270],
    [2.2930, 48.8300], [2.2860, 48.8320], [2.2730, 48.8340], [2.2660, 48.8360], [2.2580, 48.8375], [2.2530, 48.8420],
    [2.2500, 48.8470], [2.2450, 48.8510], [2.2380, 48.8530], [2.2300, 48.8570], [2.2260, 48.8640], [2.2242, 48.8700],
    [2.2290, 48.8760], [2.2450, 48.8790], [2.2600, 48.8800], [2.2700, 48.8790], [2.2790, 48.8790],
  ]],
};

/** The Seine from Ivry (upstream, south-east) to Clichy (downstream, north-west), through the loop around Boulogne. */
export const SEINE: LineString = {
  type: 'LineString',
  coordinates: [
    [2.4100, 48.8170], [2.3990, 48.8230], [2.3930, 48.8270], [2.3850, 48.8305], [2.3780, 48.8345], [2.3740, 48.8385],
    [2.3695, 48.8425], [2.3655, 48.8455], [2.3610, 48.8490], [2.3570, 48.8510], [2.3520, 48.8525], [2.3470, 48.8545],
    [2.3410, 48.8570], [2.3345, 48.8590], [2.3280, 48.8610], [2.3200, 48.8638], [2.3130, 48.8640], [2.3060, 48.8638],
    [2.3010, 48.8628], [2.2960, 48.8612], [2.2925, 48.8595], [2.2880, 48.8560], [2.2830, 48.8520], [2.2780, 48.8480],
    [2.2730, 48.8430], [2.2685, 48.8390], [2.2630, 48.8350], [2.2560, 48.8310], [2.2470, 48.8290], [2.2400, 48.8300],
    [2.2250, 48.8370], [2.2205, 48.8440], [2.2235, 48.8560], [2.2262, 48.8640], [2.2265, 48.8715], [2.2350, 48.8785],
    [2.2570, 48.8850], [2.2700, 48.8950],
  ],
};

export const WOODS: FeatureCollection<Polygon, { name: string }> = {
  type: 'FeatureCollection',
  features: [
    {
      type: 'Feature',
      properties: { name: 'Bois de Boulogne' },
      geometry: {
        type: 'Polygon',
        coordinates: [[[2.2490, 48.8480], [2.2680, 48.8560], [2.2740, 48.8650], [2.2780, 48.8740], [2.2700, 48.8785], [2.2450, 48.8780],
          [2.2300, 48.8750], [2.2250, 48.8680], [2.2270, 48.8590], [2.2380, 48.8530], [2.2490, 48.8480]]],
      },
    },
    {
      type: 'Feature',
      properties: { name: 'Bois de Vincennes' },
      geometry: {
        type: 'Polygon',
        coordinates: [[[2.4165, 48.8450], [2.4330, 48.8440], [2.4630, 48.8415], [2.4690, 48.8380], [2.4650, 48.8290], [2.4560, 48.8220],
          [2.4400, 48.8190], [2.4230, 48.8220], [2.4180, 48.8300], [2.4165, 48.8450]]],
      },
    },
  ],
};

export const LANDMARKS: FeatureCollection<Point, { name: string }> = {
  type: 'FeatureCollection',
  features: ([
    ['Notre-Dame', 48.8530, 2.3499], ['Tour Eiffel', 48.8584, 2.2945], ['Arc de Triomphe', 48.8738, 2.2950],
    ['Louvre', 48.8606, 2.3376], ['Gare du Nord', 48.8809, 2.3553], ['Gare de Lyon', 48.8443, 2.3744],
    ['Sacré-Cœur', 48.8867, 2.3431], ['Bastille', 48.8532, 2.3692], ['République', 48.8675, 2.3637],
    ['Montparnasse', 48.8421, 2.3219], ["Place d'Italie", 48.8310, 2.3557], ['Nation', 48.8483, 2.3959],
  ] as const).map(([name, lat, lon]) => ({ type: 'Feature', properties: { name }, geometry: { type: 'Point', coordinates: [lon, lat] } })),
};
