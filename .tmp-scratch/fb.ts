import { base, en, Faker } from '@faker-js/faker';
const f = new Faker({ locale: [en, base] }); f.seed(1);
const N = 2_000_000;
for (let r = 0; r < 2; r++) {
let t = performance.now(); let s = 0; for (let i=0;i<N;i++) s += f.number.int({min:0,max:100}); console.log('faker int', ((performance.now()-t)*1000/N).toFixed(3), 'us');
t = performance.now(); for (let i=0;i<N;i++) s += Math.floor(Math.random()*101); console.log('Math.random', ((performance.now()-t)*1000/N).toFixed(3), 'us');
t = performance.now(); for (let i=0;i<N/10;i++) s += new Date(Date.now() - i).getTime(); console.log('Date', ((performance.now()-t)*1000/(N/10)).toFixed(3), 'us');
t = performance.now(); for (let i=0;i<N/10;i++) s += new Date(1e12 + i * 86400000).toISOString().slice(0,10).length; console.log('isoDate', ((performance.now()-t)*1000/(N/10)).toFixed(3), 'us');
}
